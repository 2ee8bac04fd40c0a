/**
 * Kernel and network hardening (HOST-2, HOST-7), for `/etc/sysctl.d/99-zz-hardening.conf`: named to be read after
 * every stock file, since systemd-sysctl applies them in name order and Debian's procps ships
 * /usr/lib/sysctl.d/99-protect-links.conf (fs.protected_fifos = 1), which a 60-*.conf would lose to. Values after the dev-sec
 * linux-baseline: reverse-path filtering, no ICMP redirects, no source routing, SYN cookies; kernel
 * self-protection below.
 */

export const SYSCTL_HARDENING: ReadonlyArray<readonly [string, string]> = [
    ["net.ipv4.conf.all.rp_filter", "1"],
    ["net.ipv4.conf.default.rp_filter", "1"],
    ["net.ipv4.conf.all.accept_redirects", "0"],
    ["net.ipv4.conf.default.accept_redirects", "0"],
    ["net.ipv4.conf.all.secure_redirects", "0"],
    ["net.ipv4.conf.default.secure_redirects", "0"],
    ["net.ipv4.conf.all.send_redirects", "0"],
    ["net.ipv4.conf.default.send_redirects", "0"],
    ["net.ipv6.conf.all.accept_redirects", "0"],
    ["net.ipv6.conf.default.accept_redirects", "0"],
    ["net.ipv4.conf.all.accept_source_route", "0"],
    ["net.ipv4.conf.default.accept_source_route", "0"],
    ["net.ipv6.conf.all.accept_source_route", "0"],
    ["net.ipv6.conf.default.accept_source_route", "0"],
    ["net.ipv4.conf.all.log_martians", "1"],
    ["net.ipv4.conf.default.log_martians", "1"],
    ["net.ipv4.tcp_syncookies", "1"],
    ["net.ipv4.icmp_echo_ignore_broadcasts", "1"],
    ["net.ipv4.icmp_ignore_bogus_error_responses", "1"],
];

/**
 * Kernel self-protection (HOST-7), after dev-sec os-hardening, each with the reason. Not set:
 * kernel.modules_disabled=1, which would stop ufw and the network stack from loading the modules they load on
 * demand after boot (HOST-9 keeps the unused ones out instead).
 */
export const KERNEL_HARDENING: ReadonlyArray<readonly [string, string, string]> = [
    ["kernel.yama.ptrace_scope", "2", "only root may attach to a process: a compromised app cannot read another process's memory"],
    ["kernel.sysrq", "0", "no magic SysRq keys: nobody at a console (or a serial line) can reboot or dump memory"],
    ["kernel.kptr_restrict", "2", "kernel addresses hidden from every user: no help for exploits defeating KASLR"],
    ["kernel.dmesg_restrict", "1", "the kernel log only for root: it leaks addresses and hardware details"],
    ["kernel.unprivileged_bpf_disabled", "1", "no eBPF for unprivileged users: a frequent source of kernel exploits"],
    ["net.core.bpf_jit_harden", "2", "constant blinding in the BPF JIT for every user: against JIT spraying"],
    ["kernel.core_uses_pid", "1", "core files (if any are allowed later) never overwrite each other"],
    ["fs.protected_hardlinks", "1", "no hard links to files the user does not own: against link attacks in shared directories"],
    ["fs.protected_symlinks", "1", "symlinks in sticky world-writable directories followed only for their owner"],
    ["fs.protected_fifos", "2", "no opening another user's FIFO in a sticky world-writable directory (/tmp)"],
    ["fs.protected_regular", "2", "no opening another user's regular file with O_CREAT in a sticky world-writable directory"],
    ["fs.suid_dumpable", "0", "setuid programs never dump core (HOST-8)"],
    ["dev.tty.ldisc_autoload", "0", "no loading of TTY line discipline modules by unprivileged users"],
];

export function renderSysctl(): string {
    return [
        "# Managed by Pulumi: network hardening (HOST-2) and kernel self-protection (HOST-7).",
        ...SYSCTL_HARDENING.map(([k, v]) => `${k} = ${v}`),
        "",
        ...KERNEL_HARDENING.flatMap(([k, v, why]) => [`# ${why}`, `${k} = ${v}`]),
        "",
    ].join("\n");
}
