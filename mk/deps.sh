#!/usr/bin/env bash
# make deps: install the Debian packages the build and tests need, then fetch
# the C dependencies as Debian source packages and build them with musl.
# Idempotent: every step leaves a stamp and is skipped when it is already done.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
deps=$top/build/deps
aptdir=$top/build/apt
mkdir -p "$deps"

# Pinned source packages: name, version, sha256 of the .dsc apt fetched.
# apt checks every file against the signed Sources index; the .dsc hash here
# also pins the exact upload, so a changed archive cannot slip in a new one.
lwip_ver=2.1.3+dfsg1-2
lwip_dsc_sha256=8d8f944db8e6d542fc2d6f01559078fb1b5dda71651c67ee5fa3571ed1342c50
bearssl_ver=0.6+dfsg.1-3
bearssl_dsc_sha256=9bd17e07fc9824b0223dcb4ba14adac17981a4d8f1d63b6655819fe8f2ed98d1
cjson_ver=1.7.15-1+deb12u4
cjson_dsc_sha256=764c2de141d680f4fb4cada30c526dacaa30ead061b9b9c34f2b81e2df0f8439

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: fatal: %s\n' "$*" >&2; exit 1; }

# --- Debian packages ---------------------------------------------------------
packages=(
	build-essential musl-tools musl-dev clang llvm lld libclang-rt-14-dev
	flex bison bc libelf-dev libssl-dev cpio xz-utils rsync kmod
	linux-source-6.1 linux-libc-dev dpkg-dev
	qemu-system-x86 qemu-utils ovmf
	python3 python3-pytest python3-requests libcmocka-dev
	iproute2 iputils-ping dnsmasq-base
	curl openssl python3-jsonschema wrk
	etcd-server etcd-client python3-etcd
	systemd
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		say "these Debian packages are missing; install them as root:"
		say "  apt-get install ${missing[*]}"
		exit 1
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || apt-get update
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
		apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- A private apt state that knows deb-src ------------------------------------
# The machine's own Debian entries, with Types: deb-src, so no host name is
# written into the repository and the system's apt configuration is untouched.
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
aptopts=(
	-o "Dir::Etc::SourceList=/dev/null"
	-o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
	-o "Dir::State::Lists=$aptdir/lists"
	-o "Dir::Cache=$aptdir/cache"
	-o "Debug::NoLocking=1"
)

apt_state() {
	mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	local out=$aptdir/sources.list.d/debian-src.sources tmp
	tmp=$(mktemp)
	# deb822 files: keep stanzas whose suites are this release's.
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v rel="$codename" '
			function flush() {
				if (keep && stanza != "") print stanza "\n"
				stanza = ""; keep = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			/^Types:/ { stanza = stanza "Types: deb-src\n"; next }
			/^Suites:/ {
				for (i = 2; i <= NF; i++)
					if ($i == rel || $i == rel "-updates" || $i == rel "-security") keep = 1
			}
			{ stanza = stanza $0 "\n" }
			END { flush() }
		' "$f" >>"$tmp"
	done
	# one-line format: "deb [opts] URI SUITE COMPONENTS..."
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v rel="$codename" '
			$1 == "deb" {
				s = 3; if ($2 ~ /^\[/) { while ($(s-1) !~ /\]$/) s++ }
				if ($s == rel || $s == rel "-updates" || $s == rel "-security") {
					$1 = "deb-src"; print
				}
			}
		' "$f" >"$tmp.list" || true
		if [ -s "$tmp.list" ]; then
			cp "$tmp.list" "$aptdir/sources.list.d/debian-src-$(basename "$f" .list).list"
		fi
		rm -f "$tmp.list"
	done
	mv "$tmp" "$out"
	[ -s "$out" ] || ls "$aptdir"/sources.list.d/*.list >/dev/null 2>&1 ||
		die "found no Debian $codename entry in /etc/apt to derive a deb-src source from"
	say "updating the private source index in build/apt"
	apt-get "${aptopts[@]}" update -q >"$aptdir/update.log" 2>&1 ||
		{ cat "$aptdir/update.log" >&2; die "apt-get update for deb-src failed"; }
	touch "$aptdir/.stamp"
}

# fetch NAME VERSION DSC_SHA256: download, verify, unpack into build/deps/src
fetch() {
	local name=$1 ver=$2 want=$3 dir=$deps/src/$1
	local stamp=$dir/.stamp-$ver
	[ -f "$stamp" ] && return 0
	[ -f "$aptdir/.stamp" ] || apt_state
	rm -rf "$dir"; mkdir -p "$dir"
	say "fetching source package $name=$ver"
	(cd "$dir" && apt-get "${aptopts[@]}" source --download-only -q "$name=$ver" >fetch.log 2>&1) ||
		{ cat "$dir/fetch.log" >&2; die "unable to fetch $name=$ver"; }
	local dsc
	dsc=$(ls "$dir"/*.dsc)
	local got
	got=$(sha256sum "$dsc" | cut -d' ' -f1)
	if [ "$want" != "$got" ]; then
		die "$(basename "$dsc"): sha256 $got, pinned $want"
	fi
	# dpkg-source checks every file against the checksums in the .dsc.
	(cd "$dir" && dpkg-source -q -x "$(basename "$dsc")" tree >unpack.log 2>&1) ||
		{ cat "$dir/unpack.log" >&2; die "unable to unpack $name"; }
	touch "$stamp"
}

fetch lwip "$lwip_ver" "$lwip_dsc_sha256"
fetch bearssl "$bearssl_ver" "$bearssl_dsc_sha256"
fetch cjson "$cjson_ver" "$cjson_dsc_sha256"

# --- BearSSL -----------------------------------------------------------------
bearssl_out=$deps/bearssl
if [ ! -f "$bearssl_out/.stamp-$bearssl_ver" ]; then
	say "building BearSSL $bearssl_ver with musl-gcc"
	src=$deps/src/bearssl/tree
	make -C "$src" -s CC=musl-gcc LD=musl-gcc LDDLL=musl-gcc \
		CFLAGS="-W -Wall -Os -fPIC" lib >"$deps/bearssl-build.log" 2>&1 ||
		{ tail -30 "$deps/bearssl-build.log" >&2; die "BearSSL build failed"; }
	rm -rf "$bearssl_out"; mkdir -p "$bearssl_out/lib"
	cp "$src/build/libbearssl.a" "$bearssl_out/lib/"
	cp -r "$src/inc" "$bearssl_out/include"
	touch "$bearssl_out/.stamp-$bearssl_ver"
fi
# The host's own build, for the unit tests and the fuzzers (glibc, clang's
# sanitizers link against it); the programs never use it.
if [ ! -f "$bearssl_out/.stamp-host-$bearssl_ver" ]; then
	say "building BearSSL $bearssl_ver for the host's tests"
	src=$deps/src/bearssl/tree
	make -C "$src" -s BUILD=build-host CC=cc LD=cc LDDLL=cc \
		CFLAGS="-W -Wall -O2 -fPIC" lib >"$deps/bearssl-host-build.log" 2>&1 ||
		{ tail -30 "$deps/bearssl-host-build.log" >&2; die "BearSSL host build failed"; }
	mkdir -p "$bearssl_out/host"
	cp "$src/build-host/libbearssl.a" "$bearssl_out/host/"
	touch "$bearssl_out/.stamp-host-$bearssl_ver"
fi

# --- busybox, for the boot tier's test initramfs only ---------------------------
# The image has no shell; the units the boot tests run need one and a few
# tools. Debian's static busybox is unpacked here, not installed, so the
# machine's own packages are left alone.
busybox_out=$deps/busybox
if [ ! -x "$busybox_out/root/bin/busybox" ]; then
	say "fetching busybox-static (unpacked into $busybox_out, not installed)"
	rm -rf "$busybox_out"; mkdir -p "$busybox_out/dl"
	(cd "$busybox_out/dl" && apt-get download -q -o APT::Sandbox::User=root busybox-static \
		>/dev/null) || die "unable to download busybox-static"
	dpkg-deb -x "$busybox_out"/dl/*.deb "$busybox_out/root" || die "unable to unpack busybox-static"
	rm -rf "$busybox_out/dl"
fi

# --- cJSON -------------------------------------------------------------------
# The CLI's JSON parser: one file, cJSON.c, with its default nesting limit
# (CJSON_NESTING_LIMIT 1000). The unit tests compile the same file from
# build/deps/src/cjson/tree for the sanitizers.
cjson_out=$deps/cjson
if [ ! -f "$cjson_out/.stamp-$cjson_ver" ]; then
	say "building cJSON $cjson_ver with musl-gcc"
	src=$deps/src/cjson/tree
	rm -rf "$cjson_out"; mkdir -p "$cjson_out/obj" "$cjson_out/lib" "$cjson_out/include"
	musl-gcc -std=c89 -Os -ffunction-sections -fdata-sections -Wall -Wextra \
		-c "$src/cJSON.c" -o "$cjson_out/obj/cJSON.o" 2>"$deps/cjson-build.log" ||
		{ tail -30 "$deps/cjson-build.log" >&2; die "cJSON build failed"; }
	ar rcs "$cjson_out/lib/libcjson.a" "$cjson_out/obj/cJSON.o"
	cp "$src/cJSON.h" "$cjson_out/include/"
	touch "$cjson_out/.stamp-$cjson_ver"
fi

# --- lwIP --------------------------------------------------------------------
# Only what a DHCP client needs: core, IPv4, UDP, DHCP, ARP and ethernet.
# The options live with the code that uses them (init/lwip/lwipopts.h); the
# library is rebuilt whenever they change.
lwip_out=$deps/lwip
port=$top/init/lwip
opts_sum=$(cat "$port"/lwipopts.h "$port"/arch/*.h "$port"/sources "$0" | sha256sum | cut -c1-16)
if [ ! -f "$lwip_out/.stamp-$lwip_ver-$opts_sum" ]; then
	say "building lwIP $lwip_ver with musl-gcc"
	src=$deps/src/lwip/tree/src
	rm -rf "$lwip_out"; mkdir -p "$lwip_out/obj" "$lwip_out/lib"
	read -r -a files <<<"$(grep -v '^#' "$port/sources" | tr '\n' ' ')"
	for f in "${files[@]}"; do
		[ -f "$src/$f" ] || die "lwIP source $f is missing"
		o=$lwip_out/obj/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')
		musl-gcc -std=gnu99 -Os -fno-strict-aliasing -Wall -Wno-address \
			-I"$port" -I"$src/include" -c "$src/$f" -o "$o" \
			2>>"$deps/lwip-build.log" ||
			{ tail -30 "$deps/lwip-build.log" >&2; die "lwIP build failed at $f"; }
	done
	ar rcs "$lwip_out/lib/liblwip.a" "$lwip_out"/obj/*.o
	ln -sfn "$src/include" "$lwip_out/include"
	touch "$lwip_out/.stamp-$lwip_ver-$opts_sum"
fi

# --- Kernel headers for musl -------------------------------------------------
# musl-gcc does not look in /usr/include; these links let the build see the
# kernel's uapi headers (and only those), searched after musl's own.
kh=$deps/kernel-headers
mkdir -p "$kh"
ln -sfn /usr/include/linux "$kh/linux"
ln -sfn /usr/include/asm-generic "$kh/asm-generic"
ln -sfn "/usr/include/$(gcc -print-multiarch)/asm" "$kh/asm"

say "ok: lwIP $lwip_ver, BearSSL $bearssl_ver, cJSON $cjson_ver in build/deps"
