"""Supervisors: restart strategies over local and durable children."""

from ._intensity import RestartWindow as RestartWindow
from ._spec import ChildSpec as ChildSpec
from ._spec import Restart as Restart
from ._spec import Strategy as Strategy
from ._spec import SupervisorSpec as SupervisorSpec
from ._spec import supervisor_spec as supervisor_spec
from ._spec import validate_supervisor_spec as validate_supervisor_spec
from ._supervisor import Supervisor as Supervisor
from ._supervisor import should_restart as should_restart
from ._supervisor import start_supervisor as start_supervisor
from ._supervisor import supervise as supervise
from ._kinds import KINDS as KINDS
