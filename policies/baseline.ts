/**
 * The OS baseline beyond the checklist's first controls (SSH-5, SSH-6, HOST-6..10, LOG-3), judged on the files and
 * commands the remote steps ship, read the way the tools that apply them do.
 */
import { BLACKLISTED_MODULES } from "../lib/render/baseline";
import { KERNEL_HARDENING } from "../lib/render/sysctl";
import { aptConfig, HostFile, hostCommandLines, hostFiles, parseUnit, ResourceLike, serviceUnits, sysctlValue, unitValue } from "./parse";
import { sshdHosts, sshdKeyword, reporter } from "./host";
import { ChecklistPolicy, Context, firstStep, hasHosts, HOST_FILE_CARRIERS, stackPolicy } from "./support";

/** A command that loads one of the blocked modules, per module. */
const LOADS = BLACKLISTED_MODULES.map(([m]) => [m, new RegExp(`\\b(insmod\\s+\\S*\\b${m}\\.ko|modprobe\\s+(?:-\\S+\\s+)*${m})\\b`)] as const);

/** Reports once, at the first step, when hosts exist but nothing ships what a control needs. */
function missing(resources: readonly ResourceLike[], ctx: Context, what: string): void {
    const at = firstStep(resources);
    if (at && hasHosts(resources)) ctx.missing(`no remote step ships ${what}; keep the HostHardening step that does.`, at);
}

/** The key type of a host key file, from its name (ssh-keygen -A's names). */
const keyType = (p: string) => /ed25519/.test(p) ? "ed25519" : /ecdsa/.test(p) ? "ecdsa" : /rsa/.test(p) ? "rsa" : /dsa/.test(p) ? "dsa" : "unknown";

/** The signature algorithms of each key type, as HostKeyAlgorithms names them. */
const ALGORITHMS: Record<string, RegExp> = { ed25519: /^ssh-ed25519/, ecdsa: /^ecdsa-sha2-/, rsa: /^(rsa-sha2-|ssh-rsa)/, dsa: /^ssh-dss/ };

/**
 * An OpenSSH algorithm list setting applied to a default: `a,b` replaces it, `+a` appends, `-a` removes (patterns
 * with `*`), `^a` puts first.
 */
export function algorithmList(value: string | undefined, defaults: readonly string[]): string[] {
    if (!value) return [...defaults];
    const items = value.slice(/^[-+^]/.test(value) ? 1 : 0).split(",").filter(Boolean);
    const matches = (pattern: string, a: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(a);
    if (value.startsWith("+")) return [...defaults, ...items];
    if (value.startsWith("^")) return [...items, ...defaults.filter((d) => !items.includes(d))];
    if (value.startsWith("-")) return defaults.filter((d) => !items.some((p) => matches(p, d)));
    return items;
}

/** OpenSSH 9.2's defaults (sshd -T on Debian 12). */
export const DEFAULT_KEX = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256"];
const DEFAULT_HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"];
const DEFAULT_HOST_KEYS = ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"];

export const ssh5: ChecklistPolicy = stackPolicy({
    id: "SSH-5",
    slug: "host-keys-and-groups",
    description: "sshd offers an Ed25519 host key (and RSA of at least 3072 bits), never ECDSA or DSA: the HostKey files it loads (all three of Debian's when none is named) as HostKeyAlgorithms filters them; no Diffie-Hellman group under 3072 bits (group14, group exchange with an unfiltered moduli file).",
    severity: "high",
    remediation: "Keep HostKey ed25519/rsa in the sshd drop-in, the ssh step's key and moduli commands, and KexAlgorithms without group14 or group exchange.",
    check: (resources, ctx) => {
        const report = reporter(ctx);
        const lines = hostCommandLines(resources);
        for (const { sshd, fallback } of sshdHosts(resources, ctx)) {
            const named = (sshd.lists.get("hostkey") ?? []).map((k) => k.value);
            const keys = named.length ? named : DEFAULT_HOST_KEYS;
            const algorithms = algorithmList(sshd.global.get("hostkeyalgorithms")?.value, DEFAULT_HOST_KEY_ALGORITHMS);
            const offered = keys.filter((k) => algorithms.some((a) => ALGORITHMS[keyType(k)]?.test(a) ?? true));
            const where = sshd.lists.get("hostkey")?.[0]?.file ?? fallback;
            for (const k of offered.filter((k) => ["ecdsa", "dsa", "unknown"].includes(keyType(k)))) report(`sshd offers the host key ${k}${named.length ? "" : " (no HostKey named: sshd loads all of Debian's keys)"}; offer Ed25519 and RSA only`, where);
            if (!offered.some((k) => keyType(k) === "ed25519")) report("sshd offers no Ed25519 host key; add HostKey /etc/ssh/ssh_host_ed25519_key", where);
            const kex = algorithmList(sshd.global.get("kexalgorithms")?.value, DEFAULT_KEX);
            if (kex.includes("diffie-hellman-group14-sha256") || kex.includes("diffie-hellman-group14-sha1") || kex.includes("diffie-hellman-group1-sha1")) report(`KexAlgorithms ${sshd.global.get("kexalgorithms") ? "" : "(unset: OpenSSH's default) "}allows a 2048-bit Diffie-Hellman group (group14 or smaller); remove it`, sshd.global.get("kexalgorithms")?.file ?? fallback);
            if (kex.some((k) => k.startsWith("diffie-hellman-group-exchange"))) {
                const filtered = lines.some(({ line }) => /\/etc\/ssh\/moduli/.test(line) && /\$5\s*>=\s*(\d+)/.test(line) && Number(/\$5\s*>=\s*(\d+)/.exec(line)![1]) >= 3071);
                if (!filtered) report("KexAlgorithms allows group exchange, and no step drops the moduli under 3072 bits from /etc/ssh/moduli; filter it or remove group exchange", sshd.global.get("kexalgorithms")?.file ?? fallback);
            }
        }
        for (const { line, from } of lines.filter(({ line }) => /\bssh-keygen\b.*-t\s+rsa\b/.test(line))) {
            const bits = Number(/-b\s+(\d+)/.exec(line)?.[1] ?? 3072);
            if (bits < 3072) ctx.report(`${from.name} generates an RSA host key of ${bits} bits; use at least 3072.`, from);
        }
    },
});

export const ssh6: ChecklistPolicy = stackPolicy({
    id: "SSH-6",
    slug: "no-compression-few-sessions",
    description: "sshd has Compression no and MaxSessions <= 4 (OpenSSH's defaults are yes and 10), in the effective configuration and every Match block.",
    severity: "medium",
    resourceTypes: HOST_FILE_CARRIERS,
    remediation: "Keep Compression no and MaxSessions 4 in the sshd drop-in, with nothing read before it or in a Match block loosening them.",
    check: (resources, ctx) => {
        for (const { sshd, fallback } of sshdHosts(resources, ctx)) {
            sshdKeyword(sshd, fallback, "compression", "yes", (v) => v === "no", ctx, (v, where) => `${where}: Compression is ${v}, not no`);
            sshdKeyword(sshd, fallback, "maxsessions", "10", (v) => Number(v) <= 4, ctx, (v, where) => `${where}: MaxSessions is ${v}, not <= 4`);
        }
    },
});

/** The enabled APT sources of the files a host gets: deb822 stanzas and one-line entries. */
export function aptSources(files: readonly HostFile[]): { types: string[]; uris: string[]; suites: string[]; file: HostFile }[] {
    const out: { types: string[]; uris: string[]; suites: string[]; file: HostFile }[] = [];
    for (const f of files) {
        if (/^\/etc\/apt\/sources\.list\.d\/[A-Za-z0-9_.-]+\.sources$/.test(f.path)) {
            for (const stanza of f.content.split(/\n\s*\n/)) {
                const fields = new Map<string, string>();
                let last = "";
                for (const raw of stanza.split("\n")) {
                    if (/^\s*#/.test(raw) || !raw.trim()) continue;
                    if (/^\s/.test(raw) && last) fields.set(last, `${fields.get(last)} ${raw.trim()}`);
                    else {
                        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
                        if (m) fields.set((last = m[1].toLowerCase()), m[2].trim());
                    }
                }
                if (/^(no|false|0)$/i.test(fields.get("enabled") ?? "yes")) continue;
                const list = (k: string) => (fields.get(k) ?? "").split(/\s+/).filter(Boolean);
                if (fields.size) out.push({ types: list("types"), uris: list("uris"), suites: list("suites"), file: f });
            }
        } else if (f.path === "/etc/apt/sources.list" || /^\/etc\/apt\/sources\.list\.d\/[A-Za-z0-9_.-]+\.list$/.test(f.path)) {
            for (const raw of f.content.split("\n")) {
                const words = raw.replace(/#.*$/, "").replace(/\[[^\]]*\]/, "").trim().split(/\s+/);
                if (words[0] === "deb" || words[0] === "deb-src") out.push({ types: [words[0]], uris: [words[1] ?? ""], suites: [words[2] ?? ""], file: f });
            }
        }
    }
    return out;
}

export const host6: ChecklistPolicy = stackPolicy({
    id: "HOST-6",
    slug: "security-updates-source",
    description: "Debian's security suite (<codename>-security) is an enabled binary (deb) source in APT's sources, deb822 or one-line, and unattended-upgrades' Origins-Pattern (or Allowed-Origins) takes from it.",
    severity: "high",
    remediation: "Keep the upgrades step's /etc/apt/sources.list.d/debian-security.sources and the Debian-Security origin in 52unattended-upgrades-local.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const security = aptSources(files).filter((s) => s.types.includes("deb") && s.suites.some((x) => /-security$|\/updates$/.test(x)));
        if (security.length === 0) missing(resources, ctx, "an enabled APT source for Debian's security suite (Types: deb, Suites: <codename>-security)");
        const { lists } = aptConfig(files);
        const origins = [...(lists.get("unattended-upgrade::origins-pattern")?.items ?? []), ...(lists.get("unattended-upgrade::allowed-origins")?.items ?? [])];
        if (!origins.some((o) => /label=Debian-Security|codename=[^,]*-security|:\$\{distro_codename\}-security|Debian-Security:/.test(o))) {
            const at = lists.get("unattended-upgrade::origins-pattern")?.file.from ?? firstStep(resources);
            if (at) ctx.report(`unattended-upgrades takes from no security origin (${origins.length ? origins.join("; ") : "no Origins-Pattern left"}); add "origin=Debian,codename=\${distro_codename}-security,label=Debian-Security".`, at);
        }
    },
});

/** What HOST-7 accepts for each kernel setting (the rendered value or a stricter one). */
const KERNEL_OK: Record<string, (v: string) => boolean> = {
    "kernel.yama.ptrace_scope": (v) => ["1", "2", "3"].includes(v),
    "kernel.kptr_restrict": (v) => v === "2",
    "kernel.dmesg_restrict": (v) => v === "1",
};

export const host7: ChecklistPolicy = stackPolicy({
    id: "HOST-7",
    slug: "kernel-self-protection",
    description: "Kernel self-protection sysctls hold as systemd-sysctl leaves them: ptrace_scope >= 1, sysrq 0, kptr_restrict 2, dmesg_restrict 1, unprivileged BPF off, BPF JIT hardened, protected hardlinks/symlinks/FIFOs/regular files, suid_dumpable 0, no TTY line discipline autoload, core_uses_pid.",
    severity: "medium",
    remediation: "Keep the kernel part of /etc/sysctl.d/99-zz-hardening.conf (lib/render/sysctl.ts KERNEL_HARDENING), with no file read after it changing them.",
    check: (resources, ctx) => {
        const files = hostFiles(resources);
        const shipped = files.find((f) => f.path.startsWith("/etc/sysctl.d/"));
        if (!shipped) return missing(resources, ctx, "a sysctl hardening file in /etc/sysctl.d");
        const wrong = KERNEL_HARDENING.filter(([k, want]) => !(KERNEL_OK[k] ?? ((v: string) => v === want))(sysctlValue(files, k)?.value ?? "unset"));
        for (const [k, want] of wrong) {
            const got = sysctlValue(files, k);
            const at = got?.file && got.file.from.type !== "debian:stock" ? got.file : shipped;
            ctx.report(`${k} ends up ${got ? `${got.value} (set last by ${got.file.path})` : "at the kernel's default"}, needs ${want} (${at.from.name}).`, at.from);
        }
    },
});

/** limits.conf and limits.d in the order pam_limits reads them; the last line for a domain and item wins. */
function hardCoreLimits(files: readonly HostFile[]): { domain: string; value: string; file: HostFile }[] {
    const ordered = [...files.filter((f) => f.path === "/etc/security/limits.conf"), ...files.filter((f) => /^\/etc\/security\/limits\.d\/[^/]+\.conf$/.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1))];
    const byDomain = new Map<string, { domain: string; value: string; file: HostFile }>();
    for (const f of ordered) {
        for (const raw of f.content.split("\n")) {
            const [domain, type, item, value] = raw.replace(/#.*$/, "").trim().split(/\s+/);
            if (item === "core" && (type === "hard" || type === "-")) byDomain.set(domain, { domain, value, file: f });
        }
    }
    return [...byDomain.values()];
}

/** The last value of a key in a systemd configuration file and its .d drop-ins (lexical order), with its file. */
function systemdConf(files: readonly HostFile[], base: string, section: string, key: string): { value: string; file: HostFile } | undefined {
    const ordered = [...files.filter((f) => f.path === base), ...files.filter((f) => f.path.startsWith(`${base}.d/`) && f.path.endsWith(".conf")).sort((a, b) => (a.path.split("/").pop()! < b.path.split("/").pop()! ? -1 : 1))];
    let found: { value: string; file: HostFile } | undefined;
    for (const f of ordered) {
        const v = unitValue(parseUnit(f.content), section, key);
        if (v !== undefined) found = { value: v, file: f };
    }
    return found;
}

export const host8: ChecklistPolicy = stackPolicy({
    id: "HOST-8",
    slug: "no-core-dumps",
    description: "Core dumps are off: a hard core limit of 0 for every login (limits.conf and limits.d, the last line for a domain winning), DefaultLimitCORE=0 for services with no app unit raising LimitCORE, systemd-coredump storing nothing, fs.suid_dumpable 0.",
    severity: "medium",
    remediation: "Keep the baseline step's core dump files (lib/render/baseline.ts renderCoreDumpFiles) and the sysctl file; give no unit LimitCORE.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const limits = hardCoreLimits(files);
        const star = limits.find((l) => l.domain === "*");
        if (!star) missing(resources, ctx, "a hard core limit of 0 for every login (* hard core 0 in /etc/security/limits.d)");
        for (const l of limits.filter((l) => l.value !== "0")) ctx.report(`${l.file.path} (${l.file.from.name}) lets ${l.domain} dump core (hard core ${l.value}); use 0.`, l.file.from);
        const service = systemdConf(files, "/etc/systemd/system.conf", "Manager", "DefaultLimitCORE");
        if (!service) missing(resources, ctx, "DefaultLimitCORE=0 for services (/etc/systemd/system.conf.d)");
        else if (!/^0(:0)?$/.test(service.value)) ctx.report(`${service.file.path} (${service.file.from.name}) sets DefaultLimitCORE=${service.value}; use 0.`, service.file.from);
        for (const { f, unit } of serviceUnits(resources)) {
            const own = unitValue(unit, "Service", "LimitCORE");
            if (own !== undefined && !/^0(:0)?$/.test(own)) ctx.report(`${f.path} (${f.from.name}) sets LimitCORE=${own}, so the app may dump core with its secrets; remove it.`, f.from);
        }
        const storage = systemdConf(files, "/etc/systemd/coredump.conf", "Coredump", "Storage");
        if (storage && storage.value !== "none") ctx.report(`${storage.file.path} (${storage.file.from.name}) sets Storage=${storage.value}; use none.`, storage.file.from);
        if (!storage) missing(resources, ctx, "systemd-coredump's Storage=none (/etc/systemd/coredump.conf.d)");
        const suid = sysctlValue(files, "fs.suid_dumpable");
        const suidAt = suid?.file.from.type === "debian:stock" ? firstStep(resources) : suid?.file.from;
        if (suid && suid.value !== "0" && suidAt) ctx.report(`fs.suid_dumpable ends up ${suid.value} (set last by ${suid.file.path}); use 0.`, suidAt);
    },
});

export const host9: ChecklistPolicy = stackPolicy({
    id: "HOST-9",
    slug: "unused-modules-blocked",
    description: "Unused network protocols (dccp, sctp, rds, tipc) and file systems (cramfs, freevxfs, jffs2, hfs, hfsplus, udf) cannot be loaded: an `install <module> /bin/false` (or /bin/true) in modprobe.d and no other install line for it (a blacklist alone stops only aliases); no step loads one with insmod or modprobe.",
    severity: "medium",
    remediation: "Keep /etc/modprobe.d/10-hardening.conf (lib/render/baseline.ts renderModprobe) and load none of these modules in a step.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources).filter((f) => /^\/(etc|run|usr\/local\/lib|usr\/lib|lib)\/modprobe\.d\/[^/]+\.conf$/.test(f.path));
        const installs = files.flatMap((f) => f.content.split("\n").map((l) => l.replace(/#.*$/, "").trim().split(/\s+/)).filter((w) => w[0] === "install").map((w) => ({ module: (w[1] ?? "").replace(/-/g, "_"), command: w.slice(2).join(" "), file: f })));
        const open: string[] = [];
        for (const [m] of BLACKLISTED_MODULES) {
            const mine = installs.filter((i) => i.module === m);
            const blocks = (c: string) => /^\/(usr\/)?bin\/(false|true)$/.test(c);
            if (mine.length === 0 || !mine.every((i) => blocks(i.command))) open.push(m);
            for (const i of mine.filter((i) => !blocks(i.command))) ctx.report(`${i.file.path} (${i.file.from.name}) installs ${m} with "${i.command}", which loads it; use install ${m} /bin/false.`, i.file.from);
        }
        if (open.length) {
            const at = files[0]?.from ?? firstStep(resources);
            if (at) ctx.report(`${open.join(", ")} can still be loaded; add install <module> /bin/false for each to modprobe.d.`, at);
        }
        for (const { line, from } of hostCommandLines(resources)) {
            if (!/insmod|modprobe/.test(line)) continue;
            const loaded = LOADS.find(([, load]) => load.test(line))?.[0];
            if (loaded) ctx.report(`${from.name} loads ${loaded} ("${line}"); remove that.`, from);
        }
    },
});

/** The mode a chmod argument gives "group and other": whether it takes all their rights away. */
const closesOthers = (mode: string) => /^(og|go)-rwx$|^(og|go)=$/.test(mode) || (/^0?[0-7]{3,4}$/.test(mode) && mode.slice(-2) === "00");

export const CRON_PATHS = ["/etc/crontab", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/cron.d"];

export const host10: ChecklistPolicy = stackPolicy({
    id: "HOST-10",
    slug: "restrictive-permissions",
    description: "New files are not world-readable (login umask 027: every login.defs UMASK a step sets, and the login shells' profile, the last umask a profile.d file sets winning), home directories 0750 (HOME_MODE and chmod), cron's files and sshd_config for root only (no step's chmod leaves them group or other rights).",
    severity: "medium",
    remediation: "Keep the baseline step: login_defs UMASK 027 and HOME_MODE 0750, /etc/profile.d/10-umask.sh, and its chmod lines.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const lines = hostCommandLines(resources);
        // Steps run in dependency order, which a stack policy does not see: every value set must hold, not only the last.
        const defs = (key: string) => {
            const prefix = `login_defs ${key} `;
            const all = lines.filter(({ line }) => line.startsWith(prefix)).map(({ line, from }) => ({ value: line.split(/\s+/)[2], from }));
            return all.find((d) => (key === "UMASK" ? !umaskOk(d.value) : (parseInt(d.value, 8) & 0o027) !== 0)) ?? all[0];
        };
        const umaskOk = (v: string | undefined) => v !== undefined && /^0?[0-7]{3}$/.test(v) && (parseInt(v, 8) & 0o027) === 0o027;
        const umask = defs("UMASK");
        if (!umask) missing(resources, ctx, "login.defs UMASK 027 (login_defs UMASK 027)");
        else if (!umaskOk(umask.value)) ctx.report(`${umask.from.name} sets login.defs UMASK ${umask.value}; use 027.`, umask.from);
        const home = defs("HOME_MODE");
        if (!home) missing(resources, ctx, "login.defs HOME_MODE 0750");
        else if ((parseInt(home.value, 8) & 0o027) !== 0) ctx.report(`${home.from.name} sets HOME_MODE ${home.value}, which lets the group write or others in; use 0750.`, home.from);
        const profiles = hostFiles(resources).filter((f) => /^\/etc\/profile\.d\/[^/]+\.sh$/.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1));
        const last = profiles.flatMap((f) => [...f.content.matchAll(/^\s*umask\s+(\S+)/gm)].map((m) => ({ value: m[1], f }))).slice(-1)[0];
        if (!last) missing(resources, ctx, "a login shell umask of 027 in /etc/profile.d");
        else if (!umaskOk(last.value)) ctx.report(`${last.f.path} (${last.f.from.name}) sets umask ${last.value} for login shells, the last one read; use 027.`, last.f.from);
        for (const p of [...CRON_PATHS, "/etc/ssh/sshd_config"]) {
            const chmods = lines.filter(({ line }) => /^chmod\s/.test(line) && line.split(/\s+/).slice(2).includes(p)).map(({ line, from }) => ({ mode: line.split(/\s+/)[1], from }));
            if (!chmods.some((c) => closesOthers(c.mode))) missing(resources, ctx, `a chmod that takes group and other rights from ${p}`);
            for (const c of chmods.filter((c) => !closesOthers(c.mode))) ctx.report(`${c.from.name} runs chmod ${c.mode} ${p}, which leaves group or other rights; use og-rwx.`, c.from);
        }
        if (!lines.some(({ line }) => /chmod 0?750 "?\$h"?|chmod 0?750 \/home\//.test(line))) missing(resources, ctx, "a chmod 0750 of the home directories");
    },
});

/** What the audit trail must watch: [what, a test on the compiled rules]. */
const AUDITED: [string, (rules: string[]) => boolean][] = [
    ...["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/sshd_config"].map((p) => [`writes to ${p}`, (rules: string[]) => rules.some((r) => watches(r, p))] as [string, (rules: string[]) => boolean]),
    ["clock changes (adjtimex, settimeofday, clock_settime)", (rules) => ["adjtimex", "settimeofday", "clock_settime"].every((s) => rules.some((r) => /-a\s+(always,exit|exit,always)/.test(r) && new RegExp(`-S\\s+[^-]*\\b${s}\\b`).test(r) && /arch=b64/.test(r)))],
    ["kernel module loads (init_module, finit_module, delete_module)", (rules) => ["init_module", "finit_module", "delete_module"].every((s) => rules.some((r) => /-a\s+(always,exit|exit,always)/.test(r) && new RegExp(`-S\\s+[^-]*\\b${s}\\b`).test(r) && /arch=b64/.test(r)))],
];

/** Whether an audit rule records writes to a path: `-w <path> -p` with w and a, or an exit rule on path= with perm=wa. */
function watches(rule: string, p: string): boolean {
    const w = new RegExp(`^-w\\s+${p.replace(/[.]/g, "\\.")}/?\\s+(?:.*\\s)?-p\\s+(\\S+)`).exec(rule);
    if (w) return w[1].includes("w") && w[1].includes("a");
    const a = /^-a\s+(always,exit|exit,always)\s/.test(rule) && new RegExp(`-F\\s+(path|dir)=${p.replace(/[.]/g, "\\.")}/?(\\s|$)`).test(rule) ? /-F\s+perm=(\S+)/.exec(rule) : null;
    return !!a && a[1].includes("w") && a[1].includes("a");
}

export const log3: ChecklistPolicy = stackPolicy({
    id: "LOG-3",
    slug: "audit-trail",
    description: "auditd is installed and enabled, and the rules augenrules compiles (rules.d/*.rules in order; a later -D deletes the earlier ones, -e 0 switches auditing off) record writes to the identity files, sudoers and sshd_config, clock changes and module loads; auditd rotates its log at a bounded size.",
    severity: "medium",
    remediation: "Keep the audit step (lib/render/baseline.ts renderAuditRules, renderAuditdConf) and install auditd in the packages step.",
    check: (resources, ctx) => {
        if (!hasHosts(resources)) return;
        const files = hostFiles(resources);
        const lines = hostCommandLines(resources);
        if (!lines.some(({ line }) => /\binstall\b.*\bauditd\b/.test(line))) missing(resources, ctx, "an install of auditd");
        if (!lines.some(({ line }) => /systemctl enable --now auditd\b/.test(line))) missing(resources, ctx, "auditd enabled (systemctl enable --now auditd)");
        const ruleFiles = files.filter((f) => /^\/etc\/audit\/rules\.d\/[^/]+\.rules$/.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1));
        if (ruleFiles.length === 0) return missing(resources, ctx, "audit rules in /etc/audit/rules.d");
        let rules: string[] = [];
        let enabled = true;
        for (const f of ruleFiles) {
            for (const raw of f.content.split("\n")) {
                const rule = raw.replace(/^\s*#.*$/, "").trim();
                if (!rule) continue;
                if (/^-D(\s|$)/.test(rule)) rules = [];
                else if (/^-e\s+0\b/.test(rule)) enabled = false;
                else if (/^-e\s+[12]\b/.test(rule)) enabled = true;
                else rules.push(rule);
            }
        }
        const at = ruleFiles[ruleFiles.length - 1];
        if (!enabled) ctx.report(`${at.path} (${at.from.name}): the rules end with auditing switched off (-e 0); remove it.`, at.from);
        const gaps = AUDITED.filter(([, ok]) => !ok(rules)).map(([what]) => what);
        if (gaps.length) ctx.report(`the audit rules as augenrules compiles them do not record ${gaps.join(", ")} (${at.from.name}); keep the rules of renderAuditRules.`, at.from);
        const conf = files.find((f) => f.path === "/etc/audit/auditd.conf");
        if (!conf) return missing(resources, ctx, "/etc/audit/auditd.conf with a bounded, rotated log");
        const kv = new Map(conf.content.split("\n").map((l) => /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => [m[1], m[2]]));
        const problems: string[] = [];
        if ((kv.get("max_log_file_action") ?? "ROTATE").toUpperCase() !== "ROTATE") problems.push(`max_log_file_action = ${kv.get("max_log_file_action")} (the log grows without bound)`);
        if (!(Number(kv.get("num_logs") ?? 5) >= 2)) problems.push(`num_logs = ${kv.get("num_logs")} (auditd rotates only with 2 or more)`);
        if (!(Number(kv.get("max_log_file") ?? 8) > 0)) problems.push(`max_log_file = ${kv.get("max_log_file")}`);
        if (/^(HALT|SINGLE)$/i.test(kv.get("disk_full_action") ?? "")) problems.push(`disk_full_action = ${kv.get("disk_full_action")} (a full disk takes the server down)`);
        if (problems.length) ctx.report(`${conf.path} (${conf.from.name}): ${problems.join("; ")}; rotate the log at a bounded size.`, conf.from);
    },
});

export const baselinePolicies = [ssh5, ssh6, host6, host7, host8, host9, host10, log3];
