"""Supervisors: restart strategies over local and durable children; services: one process kept running by its
lifecycle (``process.service``)."""

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
from ._service_spec import Lifecycle as Lifecycle
from ._service_spec import RestartPolicy as RestartPolicy
from ._service_spec import ServiceSpec as ServiceSpec
from ._service_spec import service_spec as service_spec
from ._service import RunningService as RunningService
from ._service import keep as keep
from ._service import start_service as start_service
from ._kinds import KINDS as KINDS
