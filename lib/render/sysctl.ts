/**
 * Kernel and network hardening (HOST-2), for `/etc/sysctl.d/60-hardening.conf`. Values after the dev-sec
 * linux-baseline: reverse-path filtering, no ICMP redirects, no source routing, SYN cookies.
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
    ["kernel.kptr_restrict", "2"],
    ["kernel.dmesg_restrict", "1"],
    ["kernel.unprivileged_bpf_disabled", "1"],
    ["fs.protected_hardlinks", "1"],
    ["fs.protected_symlinks", "1"],
    ["fs.suid_dumpable", "0"],
];

export function renderSysctl(): string {
    return ["# Managed by Pulumi: kernel and network hardening (HOST-2).", ...SYSCTL_HARDENING.map(([k, v]) => `${k} = ${v}`), ""].join("\n");
}
