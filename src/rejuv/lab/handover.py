"""``cpr-transfer`` in a VM's state machine: the new QEMU beside the old one, then the hand-over.

::

    RUNNING --prepare_handover--> PREPARED --hand_over--> HANDED_OVER --take_over--> RUNNING

:meth:`HandoverSteps.prepare_handover` starts the new QEMU (the VM's second
transport, on its spare tap) while the guest runs on, and waits for its CPR
socket; :meth:`HandoverSteps.hand_over` has the old QEMU send it the guest
RAM's file descriptors and then the device state (QEMU stops the guest only
for the latter, and the new QEMU continues it); :meth:`HandoverSteps.take_over`
confirms that the guest runs in the new QEMU and quits the old one. Each
method's docstring says what its rollback leaves; :mod:`rejuv.lab.vm` draws them all.
"""

from __future__ import annotations

import asyncio
import contextlib

from rejuv.lab.cmdline import CprSockets
from rejuv.lab.errors import VMError
from rejuv.lab.transport import CONNECT_TIMEOUT, Transport
from rejuv.lab.vmbase import VMBase, VMState

__all__ = ["HandoverSteps"]


class HandoverSteps(VMBase):
    """A VM's ``cpr-transfer`` steps (a part of :class:`rejuv.lab.vm.VM`)."""

    def _successor(self, step: str) -> Transport:
        if self._spare is None:
            raise VMError(f"{self.name}: {step}", "a cpr-transfer needs a second transport for the new QEMU")
        return self._spare

    async def prepare_handover(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Start the new QEMU of a ``cpr-transfer`` while the guest runs on: PREPARED once it waits on its socket.

        On error (it dies, or makes no CPR socket within ``timeout`` s) it is
        killed and the VM goes on RUNNING in its old QEMU, nothing lost.
        """
        step = "prepare hand-over"
        self._require(step, VMState.RUNNING)
        self.last_pause = None
        if self.config.mechanism != "cpr-transfer":
            raise VMError(
                f"{self.name}: {step}", f"needs the cpr-transfer mechanism, the VM has {self.config.mechanism}"
            )
        new = self._successor(step)
        self._generation += 1
        self._sockets = CprSockets(*(self._run_dir / f"{self.name}-{self._generation}.{k}" for k in ("main", "cpr")))
        what = f"{self.name}: {step}"
        try:
            await new.spawn(what, self.argv(self._sockets, not self._on_spare_tap), self._qmp_socket())
            self._inject("prepare")
            await new.wait_socket(what, self._sockets.cpr, timeout)
        except BaseException:
            await new.stop()
            self._drop_sockets()
            raise
        self._state = VMState.PREPARED

    async def hand_over(self, timeout: float = 600.0) -> None:
        """The old QEMU stops the guest and sends the new one the RAM's descriptors and the device state: HANDED_OVER.

        The guest runs on in the new QEMU (it continues by itself). On error
        while the old QEMU lives (no socket, a QMP error, a failed migration)
        the new QEMU is killed and the guest continues in the old (RUNNING);
        if the old QEMU died first, or had completed the migration (the new
        QEMU then ran the guest in the shared memory, so the old device state
        is stale), both are gone (FAILED, memory file kept).
        """
        step = "hand over"
        self._require(step, VMState.PREPARED)
        new, sockets = self._successor(step), self._sockets
        assert sockets is not None
        connecting: asyncio.Task[None] | None = None
        try:
            await self._set_mode(step, "cpr-transfer")
            self._inject("hand-over")
            await self._execute(step, "migrate", {"channels": sockets.channels()})
            # The new QEMU opens QMP once it has the RAM, before the device state: connected early, it sees RESUME.
            connecting = asyncio.create_task(new.connect(f"{self.name}: {step}"))
            await self._wait_migration(step, timeout)
            await connecting
            self._inject("handed-over")
        except BaseException:
            if connecting is not None:
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError, VMError):
                    await connecting
            await new.stop()
            self._drop_sockets()
            if await self._migration_completed(step):  # the guest ran on in the new QEMU: the old state is stale
                await self._end_process()
                self._state = VMState.FAILED
            else:
                await self._continue_here("hand-over rollback", stopped=False)
            raise
        self._stopped_at = self._last("STOP", self.transport.events())
        self._state = VMState.HANDED_OVER

    async def _migration_completed(self, step: str) -> bool:
        """Whether this QEMU (alive) says its outgoing migration completed."""
        if self.pid is None:
            return False
        try:
            return (await self._query(step, "query-migrate")).get("status") == "completed"
        except VMError:
            return False

    async def take_over(self) -> None:
        """The new QEMU becomes the VM's: see its guest run (``cont`` if paused), quit the old one: RUNNING.

        An old QEMU already gone is only noted (:attr:`anomalies`). A new one
        that fails here leaves both killed and the VM FAILED: its guest had run
        on in the shared memory, so the old QEMU's device state is stale.
        """
        step = "take over"
        self._require(step, VMState.HANDED_OVER)
        old, new = self.transport, self._successor(step)
        self.transport, self._spare = new, old
        self._on_spare_tap = not self._on_spare_tap
        try:
            await self._run_arrived(step)
        except BaseException:
            await new.stop()
            await old.stop()
            self._drop_sockets()
            self._state = VMState.FAILED
            raise
        self._note_resume()
        await self._quit("its guest had moved to the new QEMU", old)
        self._drop_sockets()
        self._state = VMState.RUNNING
