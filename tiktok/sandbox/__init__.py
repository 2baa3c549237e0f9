"""A local TikTok Shop that speaks the real wire format (CONTRACT §4–5): see `core.Sandbox`."""

from .core import Sandbox, SandboxCall
from .faults import SandboxFaults
from .records import SandboxError

__all__ = ["Sandbox", "SandboxCall", "SandboxError", "SandboxFaults"]
