"""What runs inside a guest: the initramfs's ``/init`` and its CGI endpoint, as text.

The guest is a busybox initramfs on Debian's cloud kernel. ``/init`` loads the
virtio modules, mounts the read-only ext4 data disk (``/dev/vda``) on
``/www``, configures ``eth0`` from the kernel command line (``vmip=`` and
``vmgw=``), draws a random boot token, serves ``/srv`` with busybox httpd on
port 80 (files under ``/files/``, the endpoint at ``/cgi-bin/status``) and
powers off cleanly when the ACPI power button is pressed (QMP
``system_powerdown``). It prints :data:`READY_LINE` on the serial console once
httpd listens.

With ``vmdirtybuf=MIB`` on the command line (:func:`~rejuv.lab.cmdline.dirtying_arguments`)
it first fills a buffer of that many MiB in its own tmpfs (``/dirty``, sized
to it) with random bytes, one MiB from ``/dev/urandom`` copied over and over
(16 at a time: a process costs more than a MiB under TCG),
so those pages hold data a migration must send (QEMU sends a page of zeros as
a flag); with ``vmdirty=N`` too it then rewrites N blocks of 64 KiB every
0.25 s, copying one part of the buffer over another (``dd conv=notrunc``,
going round the buffer), in the background: the set rate as long as ``dd``
keeps up, each tick lasting its 0.25 s or the copy's time if longer.
"""

from __future__ import annotations

__all__ = [
    "MODULES",
    "READY_LINE",
    "STATUS_PATH",
    "FILES_PATH",
    "FILE_TEMPLATE",
    "INIT_SCRIPT",
    "STATUS_CGI",
    "file_name",
]

#: The kernel modules the guest needs; their dependencies and load order come from ``depmod``.
MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "button", "evdev")

#: The serial-console line the guest prints when it serves; followed by ``token=... uptime=...``.
READY_LINE = "REJUV-GUEST-READY"
#: The status endpoint: ``token=<hex>`` and ``uptime=<seconds>`` lines.
STATUS_PATH = "/cgi-bin/status"
#: Where the data disk's files are served.
FILES_PATH = "/files/"


#: The name of data file ``file`` on the data disk, as a ``str.format`` template.
FILE_TEMPLATE = "f{file:05d}.bin"


def file_name(index: int) -> str:
    """The name of data file ``index`` on the data disk."""
    return FILE_TEMPLATE.format(file=index)


INIT_SCRIPT = f"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
  insmod /lib/modules/$m || echo "REJUV-GUEST-ERROR insmod $m" > /dev/console
done
IP=10.0.2.15/24
GW=10.0.2.1
for w in $(cat /proc/cmdline); do
  case $w in vmip=*) IP=${{w#vmip=}};; vmgw=*) GW=${{w#vmgw=}};; esac
done
head -c 16 /dev/urandom | md5sum | cut -d' ' -f1 > /token
n=0
while [ ! -b /dev/vda ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
mount -t ext4 -o ro /dev/vda /www || echo "REJUV-GUEST-ERROR mount" > /dev/console
ln -s /www /srv/files
ip link set lo up
ip link set eth0 up
ip addr add $IP dev eth0
ip route add default via $GW
for e in /sys/class/input/event*; do
  if grep -q 'Power Button' $e/device/name 2>/dev/null; then
    (head -c1 /dev/input/${{e##*/}} > /dev/null; sync; poweroff -f) &
  fi
done
DIRTY=0
BUF=0
for w in $(cat /proc/cmdline); do
  case $w in vmdirty=*) DIRTY=${{w#vmdirty=}};; vmdirtybuf=*) BUF=${{w#vmdirtybuf=}};; esac
done
if [ "$BUF" -gt 0 ]; then
  mkdir -p /dirty
  mount -t tmpfs -o size=${{BUF}}m tmpfs /dirty
  head -c 1048576 /dev/urandom > /seed
  S16="/seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed /seed"
  i=0
  {{ while [ $((i+16)) -le "$BUF" ]; do cat $S16; i=$((i+16)); done
    while [ $i -lt "$BUF" ]; do cat /seed; i=$((i+1)); done; }} > /dirty/buf
  rm /seed
fi
if [ "$DIRTY" -gt 0 ]; then
  (blocks=$((BUF*16)); d=0
   while :; do
     sleep 0.25 &
     [ $((d+DIRTY)) -gt $blocks ] && d=0
     s=$(( (d + blocks/2) % (blocks - DIRTY + 1) ))
     dd if=/dirty/buf of=/dirty/buf bs=65536 skip=$s seek=$d count=$DIRTY conv=notrunc 2>/dev/null
     d=$((d+DIRTY))
     wait $!
   done) &
fi
httpd -p 80 -h /srv
echo "{READY_LINE} token=$(cat /token) uptime=$(cut -d' ' -f1 /proc/uptime)" > /dev/console
while :; do sleep 3600; done
"""

STATUS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "token=$(cat /token)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
"""
