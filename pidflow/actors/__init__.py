"""The local host: processes as trio tasks (mailboxes, links, monitors, names)."""

from .._mailbox import Mailbox as Mailbox, MailboxStatistics as MailboxStatistics
from .._process import Process as Process
from ._local_host import LocalHost as LocalHost
from ._kinds import BUILTIN_HOST as BUILTIN_HOST, KINDS as KINDS
