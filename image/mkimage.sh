#!/usr/bin/env bash
# make image: build/image/ with the kernel and the initramfs.
#
#   build/image/bzImage          the kernel (a copy of build/kernel/bzImage)
#   build/image/initramfs.cpio   pith-init as /init, the programs, the built-in units
#
# The disk image (GPT, EFI system partition, data partition) is added here
# later as build/image/pith.raw; nothing else needs to change for it.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/image
gen=build/kernel/gen_init_cpio
[ -x "$gen" ] || { echo "image: fatal: $gen is missing; run make kernel" >&2; exit 1; }
mkdir -p "$out"

list=$out/initramfs.list
{
	cat <<'LIST'
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/null 0666 0 0 c 1 3
dir /proc 0555 0 0
dir /sys 0555 0 0
dir /run 0755 0 0
dir /tmp 1777 0 0
dir /var 0755 0 0
dir /etc 0755 0 0
dir /etc/pith 0755 0 0
dir /etc/pith/units 0755 0 0
dir /usr 0755 0 0
dir /usr/bin 0755 0 0
dir /usr/lib 0755 0 0
dir /usr/lib/pith 0755 0 0
dir /usr/lib/pith/units 0755 0 0
slink /bin usr/bin 0777 0 0
slink /sbin usr/bin 0777 0 0
LIST
	echo "file /init build/bin/pith-init 0755 0 0"
	echo "slink /usr/bin/pith-init /init 0777 0 0"
	for p in build/bin/*; do
		[ "$(basename "$p")" = pith-init ] && continue
		echo "file /usr/bin/$(basename "$p") $p 0755 0 0"
	done
	# The CLI is in the image too, under the names operators type.
	echo "slink /usr/bin/systemctl pith 0777 0 0"
	echo "slink /usr/bin/journalctl pith 0777 0 0"
	echo "file /etc/os-release $out/os-release 0644 0 0"
	echo "file /etc/passwd $out/passwd 0644 0 0"
	echo "file /etc/group $out/group 0644 0 0"
	for u in image/units/*; do
		[ -f "$u" ] || continue
		echo "file /usr/lib/pith/units/$(basename "$u") $u 0644 0 0"
	done
	# Built-in units that start at boot: their [Install] links, made here.
	for d in image/units/*.wants image/units/*.requires; do
		[ -d "$d" ] || continue
		echo "dir /usr/lib/pith/units/$(basename "$d") 0755 0 0"
		for l in "$d"/*; do
			[ -L "$l" ] || continue
			echo "slink /usr/lib/pith/units/$(basename "$d")/$(basename "$l") $(readlink "$l") 0777 0 0"
		done
	done
} >"$list"

# Users for User=/Group=: root and the unprivileged nobody.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$out/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$out/group"

# Every unit shipped is checked as PID 1 would read it.
if ls image/units/*.service >/dev/null 2>&1; then
	build/bin/pith check image/units || { echo "image: fatal: the built-in units have errors" >&2; exit 1; }
fi

version=$(sed -n 's/^#define PITH_VERSION "\(.*\)"/\1/p' lib/version.h)
cat >"$out/os-release" <<OS
NAME=Pith
ID=pith
VERSION_ID=$version
PRETTY_NAME="Pith $version"
OS

"$gen" "$list" >"$out/initramfs.cpio.tmp"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
cp build/kernel/bzImage "$out/bzImage"
printf 'image: %s (%s bytes), %s (%s bytes)\n' \
	"$out/bzImage" "$(stat -c %s "$out/bzImage")" \
	"$out/initramfs.cpio" "$(stat -c %s "$out/initramfs.cpio")"
