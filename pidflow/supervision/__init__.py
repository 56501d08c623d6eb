"""Supervisors: restart strategies over local and durable children."""

from ._spec import validate_supervisor_spec as validate_supervisor_spec
