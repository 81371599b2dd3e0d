#!/bin/sh
# Runs on the system disk as PID 1 after switch_root: sets up the guest, runs the test, reports
# the outcome on the serial console and powers off (qemu then exits).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
# the mock API server and the registry of the agent check listen on 127.0.0.1
ip link set lo up
printf '127.0.0.1 localhost\n' > /etc/hosts
# a line of its own: the firmware leaves the console mid-line
echo
echo "KCFS-VM: booted in $(cut -d' ' -f1 /proc/uptime) s (kernel $(uname -r))"
sh /verity-vm/verity-test.sh
rc=$?
echo "KCFS-VM: EXIT $rc after $(cut -d' ' -f1 /proc/uptime) s"
sync
poweroff -f
