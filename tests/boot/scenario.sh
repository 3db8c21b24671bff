#!/bin/sh
# The boot tier's unit scenario, run inside the guest by pith.run=. Each
# step prints "scenario: <step> rc=<status>" for tests/boot/test_image_units.py.
say() { echo "scenario: $*"; }
step() { name=$1; shift; "$@"; say "$name rc=$?"; }

say begin
step enable systemctl enable hello.service
step start systemctl start hello.service
sleep 3
step status systemctl status --no-pager hello.service
timeout 4 journalctl -f -u hello.service >/tmp/follow.txt
say "follow lines=$(grep -c 'Hello World' /tmp/follow.txt)"
step stop systemctl stop hello.service
say "stop-logged=$(journalctl -u hello.service -o cat | grep -c 'Stopping the greeting')"
step is-active systemctl is-active hello.service
step prep-active systemctl is-active prep.service
step disable systemctl disable hello.service
step is-enabled systemctl is-enabled hello.service

step limits systemctl start limits.service
for f in memory.max memory.high cpu.weight cpu.max pids.max io.weight; do
	say "limit $f=$(cat /sys/fs/cgroup/pith.slice/limits.service/$f 2>/dev/null || echo absent)"
done
step limits-stop systemctl stop limits.service

step leak systemctl start leak.service
sleep 2
say "leak result=$(systemctl show -p Result --value leak.service) state=$(systemctl is-active leak.service)"

step bomb systemctl start bomb.service
sleep 3
# The unit's main process never forks (bomb.service), so the unit is up
# while its counters are read; active afterwards says it was.
bomb=/sys/fs/cgroup/pith.slice/bomb.service
refused=
while read -r k v; do [ "$k" = max ] && refused=$v; done <$bomb/pids.events
say "bomb tasks=$(cat $bomb/pids.current) refused=$refused"
say "bomb active=$(systemctl is-active bomb.service)"
step bomb-stop systemctl stop bomb.service
say "bomb after=$(cat $bomb/pids.current 2>/dev/null || echo gone)"

systemctl start crashy.service
sleep 2
say "crashy result=$(systemctl show -p Result --value crashy.service) restarts=$(systemctl show -p NRestarts --value crashy.service)"
step still-serving systemctl is-active prep.service
# The built-in control port, given its credentials, came up at boot and
# stayed up.
say "control state=$(systemctl is-active pith-control.service) restarts=$(systemctl show -p NRestarts --value pith-control.service)"
say done
