"""A VM's state machine: one QEMU process at a time, reached through a transport, with explicit states.

::

    CREATED --boot--> BOOTING --> RUNNING --suspend--> SUSPENDED --resume--> RUNNING
                                  RUNNING --shutdown--> STOPPED --boot--> ...
                                  RUNNING --reset--> BOOTING --> RUNNING
                                  RUNNING --migrate--> MIGRATING --> STOPPED  (the guest runs on the destination)
                                  RUNNING --prepare_handover--> PREPARED --hand_over--> HANDED_OVER --take_over--> RUNNING
    CREATED, STOPPED, FAILED --receive--> INCOMING (a migration's destination) --> RUNNING
    any step that fails ---------------------------------------> FAILED (or back, see below)

The VM knows nothing about processes: it builds the command line
(:func:`~rejuv.lab.cmdline.qemu_argv`) and hands it to its
:class:`~rejuv.lab.transport.Transport`, the real one by default, a fake in tests.
The steps live in three modules: a VM's own life in :mod:`~rejuv.lab.vmbase`
(boot, reset, shutdown, suspend, resume, close), the ``cpr-transfer``
hand-over in :mod:`~rejuv.lab.handover`, migration to another host here.

Guest RAM lives in a shared memory file (``memory-backend-file``,
``share=on``) in the run directory, so it outlives the QEMU process. An
on-memory suspend (:meth:`VM.suspend`) saves only the device state, with the
``x-ignore-shared`` capability, and quits QEMU; :meth:`VM.resume` starts a new
QEMU on the same memory file with ``-incoming defer``, loads the device state
and continues. ``save_ram=True`` gives the classic save-to-file suspend: RAM
goes into the state file and the memory file is discarded.

How a suspend and a resume move the device state depends on the VM's
mechanism (:mod:`~rejuv.lab.mechanism`): ``ignore-shared`` as above, through
``exec:cat``; ``cpr-reboot`` the same with QEMU's own mode and a ``file:``
URI (QEMU stops the guest itself and continues it on arrival). With
``cpr-transfer`` no QEMU waits for another to quit: :meth:`VM.prepare_handover`
starts the new QEMU beside the running one (on the VM's other tap) and waits
for its CPR socket, :meth:`VM.hand_over` has the old QEMU send it the RAM's
file descriptors and the device state, and :meth:`VM.take_over` confirms that
the guest runs in the new QEMU and quits the old one. Each process's QMP
events give the guest's pause: the old QEMU's ``STOP`` to the new one's
``RESUME`` (:attr:`VM.last_pause`).

Every step rolls back on failure: a suspend whose QEMU still lives continues
the guest (RUNNING again), and one whose state was saved but whose QEMU would
not quit kills it (SUSPENDED); a resume that fails kills the new QEMU and
returns to SUSPENDED with the memory and state files intact, ready for another
try; a failed migration is cancelled, the destination's QEMU killed, and the
guest goes on running here; a QEMU that died leaves the VM FAILED, its memory
file kept, and :attr:`VM.recoverable` says whether a resume can still bring it back.
A new QEMU that fails to start for a hand-over is killed, and the guest never
stopped (RUNNING); a hand-over that fails while the old QEMU lives (no socket,
a QMP error, a failed migration) kills the new QEMU and continues the guest in
the old (RUNNING); an old QEMU that dies after it handed over costs nothing
(the new one has everything); one that dies before, or a new QEMU that dies
after the guest moved to it, leaves the VM FAILED.
"""

from __future__ import annotations

from rejuv.lab.cmdline import QEMU_BINARY, VMConfig
from rejuv.lab.handover import HandoverSteps
from rejuv.lab.vmbase import FaultHook, GuestStatus, MigrationObserver, VMHost, VMState

__all__ = ["VMState", "VMConfig", "VM", "VMHost", "GuestStatus", "FaultHook", "MigrationObserver", "QEMU_BINARY"]

#: ms: QEMU's default downtime limit (it stops pre-copy once the rest can be sent within it)
DEFAULT_DOWNTIME_LIMIT = 300
#: ms: the largest downtime limit QEMU takes (``MAX_MIGRATE_DOWNTIME`` in its migration/options.c: 2000 s;
#: ``downtime-limit`` is a whole number of ms, qapi/migration.json)
MAX_DOWNTIME_LIMIT = 2_000_000


class VM(HandoverSteps):
    """A VM: its own steps (:class:`~rejuv.lab.vmbase.VMBase`), a hand-over (:class:`~rejuv.lab.handover.HandoverSteps`),
    and migration to another host (here)."""

    # -- migration to another host (the migration procedures, :mod:`rejuv.lab.moves`) -------------
    async def receive(self, uri: str) -> None:
        """Start QEMU ``-incoming defer`` on a fresh memory file and listen on ``uri`` (``tcp:ADDRESS:PORT``).

        The VM waits for a guest (INCOMING) sent by :meth:`migrate` of the same
        VM on another host. On error its QEMU is killed (FAILED).
        """
        self._require("receive", VMState.CREATED, VMState.STOPPED, VMState.FAILED)
        self.memory_file.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        try:
            await self._launch(incoming=True)
            await self._execute("receive", "migrate-incoming", {"uri": uri})
        except BaseException:
            await self._end_process()
            self.memory_file.unlink(missing_ok=True)
            self._state = VMState.FAILED
            raise
        self._state = VMState.INCOMING

    async def migrate(
        self,
        destination: VM,
        uri: str,
        live: bool = True,
        max_bandwidth: int = 10**12,
        timeout: float = 600.0,
        stall: float | None = None,
        downtime_limit: int = DEFAULT_DOWNTIME_LIMIT,
        observe: MigrationObserver | None = None,
    ) -> None:
        """Move the guest to ``destination`` (INCOMING on ``uri``, see :meth:`receive`); RAM is sent, not shared.

        Live pre-copy if ``live``, else stop-and-copy (``stop`` first);
        ``max_bandwidth`` in bytes/s, ``timeout`` in s; with ``stall``, a
        migration that sends nothing for ``stall`` s (a cut link) fails.
        ``downtime_limit`` (ms) is QEMU's: pre-copy ends once the rest fits in
        it. ``observe`` sees every ``query-migrate`` answer while the
        migration runs (and may :meth:`set_migration_parameters`). On success the
        destination runs the guest (RUNNING) and this QEMU has quit (STOPPED).
        On failure (the destination dies, a QMP error, the migration
        ``failed`` or ``cancelled``, timeout, a stall) the migration is cancelled, the
        destination's QEMU killed (STOPPED) and the guest goes on running here
        (RUNNING); if this QEMU died, FAILED. :attr:`switched_over_at` is
        QEMU's time of the guest's last ``STOP`` here (the switch-over), and the
        destination's :attr:`last_pause` runs from it to the guest's ``RESUME`` there.
        """
        self._require("migrate", VMState.RUNNING)
        destination._require("migrate", VMState.INCOMING)
        self.switched_over_at = None
        self.last_pause = None
        self._state = VMState.MIGRATING
        stopped = False
        try:
            capability = [{"capability": "x-ignore-shared", "state": False}]  # a resumed QEMU has it on
            await self._execute("migrate", "migrate-set-capabilities", {"capabilities": capability})
            await self._set_mode("migrate", "normal")
            limits = {"max-bandwidth": max_bandwidth, "downtime-limit": downtime_limit}
            await self._execute("migrate", "migrate-set-parameters", limits)
            if not live:
                await self._execute("migrate", "stop")
                stopped = True
            await self._execute("migrate", "migrate", {"uri": uri})
            self._inject("migrating")
            await self._wait_migration("migrate", timeout, stall, observe)
            self.switched_over_at = self._last("STOP", self.transport.events())
            await destination._arrive(self.boot_token)
        except BaseException:
            await destination.close()
            await self._continue_here("migrate rollback", stopped)
            raise
        resumed = destination._last("RESUME", destination.transport.events())
        left = self.switched_over_at
        destination.last_pause = resumed - left if resumed is not None and left is not None else None
        await self._quit(f"its guest had moved to {destination.name}")
        self.memory_file.unlink(missing_ok=True)
        self._state = VMState.STOPPED

    async def set_migration_parameters(self, parameters: dict[str, object]) -> None:
        """``migrate-set-parameters`` now (e.g. ``max-bandwidth`` in bytes/s mid-migration); VMError if QEMU refuses."""
        await self._execute("migrate", "migrate-set-parameters", parameters)

    async def _arrive(self, token: str | None, timeout: float = 30.0) -> None:
        """Run the guest that came in: wait until QEMU leaves ``inmigrate``, then ``cont`` if paused."""
        await self._run_arrived("arrive", timeout)
        self.boot_token = token
        self._state = VMState.RUNNING
