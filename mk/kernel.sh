#!/bin/bash
# mk/kernel.sh: build build/kernel/bzImage from Debian's linux-source-6.1
# and the fragments in kernel-config/. Called by `make kernel` from the
# repository root.
#
# Steps: unpack the source once (build/kernel/src), configure out of tree
# (build/kernel/obj) as tinyconfig + kernel-config/*.config merged with the
# kernel's merge_config.sh in allnoconfig mode, assert that every symbol a
# fragment names has that value, build bzImage. The host tool gen_init_cpio
# (initramfs with device nodes, without root) is built alongside.
#
# Cache: build/kernel/inputs.sha256 holds a hash of this script, the
# fragments and the source package version; when it matches and bzImage
# exists, nothing is rebuilt.
set -euo pipefail

PKG=linux-source-6.1
TARBALL=/usr/src/$PKG.tar.xz

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/kernel
SRC=$OUT/src
OBJ=$OUT/obj
CONFIG_DIR=$ROOT/kernel-config
export ARCH=x86_64

say() { printf 'kernel: %s\n' "$*"; }
die() { printf 'kernel: fatal: %s\n' "$*" >&2; exit 1; }

# Print the tail of a log and fail.
die_log() {
	local log=$1; shift
	printf 'kernel: fatal: %s (last lines of %s):\n' "$*" "${log#"$ROOT"/}" >&2
	tail -n 40 "$log" >&2
	exit 1
}

package_version() {
	local status
	status=$(dpkg-query -W -f='${Status} ${Version}' "$PKG" 2>/dev/null) ||
		die "package $PKG is not installed (run make deps)"
	case $status in
	"install ok installed "*) printf '%s\n' "${status##* }" ;;
	*) die "package $PKG is not fully installed: $status (run make deps)" ;;
	esac
}

check_host_tools() {
	local t missing=()
	for t in make cc gcc ld flex bison bc perl xz tar flock; do
		command -v "$t" >/dev/null || missing+=("$t")
	done
	[ -e /usr/include/gelf.h ] || missing+=("libelf-dev")
	[ "${#missing[@]}" -eq 0 ] || die "missing host tools: ${missing[*]} (run make deps)"
}

# Unpack the tarball into $SRC unless the stamp says this version is there.
unpack() {
	local version=$1 stamp=$SRC/.pith-unpacked
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
		return 0
	fi
	[ -r "$TARBALL" ] || die "$TARBALL missing (package $PKG $version)"
	say "unpacking $PKG $version…"
	rm -rf "$SRC" "$SRC.tmp" "$OBJ"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	printf '%s\n' "$version" >"$SRC.tmp/.pith-unpacked"
	mv "$SRC.tmp" "$SRC"
}

# The initramfs is built as an ordinary user; gen_init_cpio writes device
# nodes from a list instead of needing them on disk.
build_gen_init_cpio() {
	local tool=$OUT/gen_init_cpio
	if [ -x "$tool" ] && [ "$tool" -nt "$SRC/usr/gen_init_cpio.c" ]; then
		return 0
	fi
	cc -O2 -o "$tool.tmp" "$SRC/usr/gen_init_cpio.c" || die "unable to compile gen_init_cpio"
	mv "$tool.tmp" "$tool"
}

# Fragments in merge order: base.config first, the rest by name.
fragments() {
	printf '%s\n' "$CONFIG_DIR/base.config"
	local f
	for f in "$CONFIG_DIR"/*.config; do
		[ "$f" = "$CONFIG_DIR/base.config" ] || printf '%s\n' "$f"
	done
}

inputs_hash() {
	local version=$1
	{
		printf 'package %s %s\n' "$PKG" "$version"
		printf 'script\n'
		cat "$ROOT/mk/kernel.sh"
		local f
		while read -r f; do
			printf 'fragment %s\n' "${f##*/}"
			cat "$f"
		done < <(fragments)
	} | sha256sum | cut -d' ' -f1
}

# "SYMBOL VALUE" for every symbol a set of config files names; VALUE is "n"
# for "# CONFIG_X is not set".
config_symbols() {
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)$/\1 \2/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 n/p' "$@"
}

# Two fragments must not disagree: the later one would win silently.
check_fragments_agree() {
	local bad
	bad=$(while read -r f; do config_symbols "$f" | sed "s|\$| ${f##*/}|"; done < <(fragments) |
		awk '{ if ($1 in want && want[$1] != $2) printf "  %s: %s in %s, %s in %s\n", $1, want[$1], from[$1], $2, $3; want[$1] = $2; from[$1] = $3 }')
	[ -z "$bad" ] || { printf 'kernel: fatal: fragments disagree:\n%s\n' "$bad" >&2; exit 1; }
}

# Kconfig drops a symbol whose dependencies are unmet without a word; fail
# loudly on every fragment symbol whose final value differs.
assert_config() {
	local config=$OBJ/.config bad
	bad=$(while read -r f; do config_symbols "$f" | sed "s|\$| ${f##*/}|"; done < <(fragments) |
		awk -v config="$config" '
			BEGIN {
				while ((getline line < config) > 0) {
					if (match(line, /^CONFIG_[A-Za-z0-9_]+=/)) {
						got[substr(line, 1, RLENGTH - 1)] = substr(line, RLENGTH + 1)
					} else if (line ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
						split(line, w, " "); got[w[2]] = "n"
					}
				}
			}
			{
				g = ($1 in got) ? got[$1] : "n"
				if (g != $2) printf "  %s: wanted %s, got %s (%s)\n", $1, $2, (($1 in got) ? g : "absent"), $3
			}')
	if [ -n "$bad" ]; then
		printf 'kernel: fatal: symbols in the final .config differ from the fragments:\n%s\n' "$bad" >&2
		printf 'kernel: (a symbol usually drops out when something it depends on is off; see %s)\n' \
			"${OBJ#"$ROOT"/}/.config" >&2
		exit 1
	fi
}

configure() {
	local log=$OUT/config.log f
	local frags=()
	while read -r f; do frags+=("$f"); done < <(fragments)
	say "configuring (tinyconfig + ${#frags[@]} fragments)…"
	check_fragments_agree
	mkdir -p "$OBJ"
	: >"$log"
	# tinyconfig is allnoconfig plus these three fragments; merging them with
	# ours in one allnoconfig pass (rather than on top of tinyconfig's
	# .config) keeps tinyconfig's derived values, such as NR_CPUS=1 without
	# SMP, from being pinned. The forwarding Makefile that make O= writes
	# lets merge_config.sh run in the build directory, where it also keeps
	# its temporary files.
	make -C "$SRC" O="$OBJ" outputmakefile >>"$log" 2>&1 || die_log "$log" "make outputmakefile failed"
	(cd "$OBJ" && "$SRC/scripts/kconfig/merge_config.sh" -n \
		"$SRC/kernel/configs/tiny-base.config" "$SRC/kernel/configs/tiny.config" \
		"$SRC/arch/x86/configs/tiny.config" "${frags[@]}") >>"$log" 2>&1 ||
		die_log "$log" "merge_config.sh failed"
	make -C "$SRC" O="$OBJ" olddefconfig >>"$log" 2>&1 || die_log "$log" "make olddefconfig failed"
	assert_config
}

build() {
	local log=$OUT/build.log jobs
	jobs=$(nproc)
	say "building with -j$jobs (takes a few minutes; output in ${log#"$ROOT"/})…"
	KBUILD_BUILD_USER=pith KBUILD_BUILD_HOST=pith \
		make -C "$SRC" O="$OBJ" -j"$jobs" bzImage >"$log" 2>&1 || die_log "$log" "kernel build failed"
	cp "$OBJ/arch/x86/boot/bzImage" "$OUT/bzImage.tmp"
	mv "$OUT/bzImage.tmp" "$OUT/bzImage"
}

main() {
	local start version hash stamp=$OUT/inputs.sha256
	start=$(date +%s)
	version=$(package_version)
	check_host_tools
	mkdir -p "$OUT"
	# Two builds in one tree corrupt each other's objects: the second waits.
	exec 9>"$OUT/.lock"
	if ! flock -n 9; then
		say "waiting for another kernel build in this tree…"
		flock 9
	fi
	unpack "$version"
	build_gen_init_cpio

	hash=$(inputs_hash "$version")
	if [ -f "$OUT/bzImage" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
		say "up to date: build/kernel/bzImage ($(stat -c %s "$OUT/bzImage") bytes, $PKG $version)"
		return 0
	fi
	rm -f "$stamp"
	configure
	build
	printf '%s\n' "$hash" >"$stamp"
	say "built build/kernel/bzImage: $(stat -c %s "$OUT/bzImage") bytes, $PKG $version, in $(($(date +%s) - start))s"
}

main "$@"
