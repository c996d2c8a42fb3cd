# Sourced by tests/test_examples.sh.  alg_in_vm DIR INPUT...: run
# examples/sha256-alg on each INPUT inside a throwaway VM whose kernel has
# AF_ALG (Debian's linux-image, with the af_alg and algif_hash modules), for
# hosts whose own kernel is built without it.  Prints "RESULT NAME DIGEST  -"
# per input.  Returns 1 with a reason when a needed piece is missing.
alg_in_vm() {
  local dir=$1; shift
  local kernel ver mods
  kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
  ver=${kernel#/boot/vmlinuz-}
  mods=/lib/modules/$ver/kernel/crypto
  for need in qemu-system-x86_64 cpio gzip; do
    command -v "$need" >/dev/null || { echo "no $need"; return 1; }
  done
  [ -n "$kernel" ] && [ -f "$mods/af_alg.ko" ] && [ -f "$mods/algif_hash.ko" ] ||
    { echo "no kernel image with af_alg.ko and algif_hash.ko in /boot and /lib/modules"; return 1; }
  [ -x /bin/busybox ] && file_is_static /bin/busybox || { echo "no static /bin/busybox"; return 1; }
  local root=$dir/vmroot
  mkdir -p "$root/bin" "$root/data"
  # Built from the sources, uninstrumented and static: the VM has no libc.
  local src=${RSOCK_SOURCE:-.}
  gcc -static -O2 -D_GNU_SOURCE -I"$src/include" -I"$src/src" "$src/examples/sha256-alg.c" \
      "$src"/src/*.c "$src/src/ctx_x86_64.S" -lpthread -o "$root/sha256-alg" 2>"$dir/static.log" ||
    { echo "static build failed: $(tail -3 "$dir/static.log")"; return 1; }
  cp /bin/busybox "$root/bin/"
  cp "$mods/af_alg.ko" "$mods/algif_hash.ko" "$root/"
  for f in "$@"; do cp "$f" "$root/data/"; done
  cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox insmod /af_alg.ko && /bin/busybox insmod /algif_hash.ko
for f in /data/*; do echo "RESULT $(/bin/busybox basename $f) $(/sha256-alg < $f)"; done
/bin/busybox poweroff -f
INIT
  chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip >"$dir/initrd.gz")
  # Emulated (TCG): nested KVM is not dependable on CI machines.  ~1 min.
  timeout 240 qemu-system-x86_64 -accel tcg -cpu max -m 256 -nic none -kernel "$kernel" \
      -initrd "$dir/initrd.gz" -append "console=ttyS0 panic=-1 quiet" \
      -nographic -no-reboot </dev/null 2>&1 | tr -d '\r' | grep -ao 'RESULT .*'
}
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
