/**
 * The read-only probe `npm run verify` runs on each host as root, in one SSH session: it prints the managed files
 * (mode, owner, content), the wanted units' states and restart counts, and what the live controls read (sshd's
 * effective settings, ufw, listening sockets, fail2ban, backups, the restore drill, the certificate, unattended
 * upgrades, the app unit's sandbox). It writes nothing, restarts nothing, installs nothing. Pure: render and parse.
 */
import { shq } from "../lib/render/apply-script";

export type ProbeSpec = {
    /** Managed files to read. */
    files: string[];
    /** Units whose enabled and active states and restart count to read. */
    units: string[];
    /** The app's name: its unit, backups and drill. */
    appName: string;
    /** Where the backups are (`/var/backups/<app>`), or undefined when the host keeps none. */
    backupRoot?: string;
    /** The certificate nginx serves, or undefined when the host runs no nginx. */
    certificate?: string;
};

export type ProbeResult = {
    /** The host's clock, seconds since the epoch. */
    now: number;
    files: Map<string, { exists: false } | { exists: true; mode: string; owner: string; content: string }>;
    units: Map<string, { enabled: string; active: string; restarts: number }>;
    /** Each section's output by name (timers, sshd, ufw, listen, fail2ban, backups, drill, cert, upgrades, sandbox, exposure). */
    sections: Map<string, string>;
};

const SAFE = /^[A-Za-z0-9@._/:+-]+$/;

function checked(what: string, values: string[]): string[] {
    for (const v of values) if (!SAFE.test(v)) throw new Error(`probe: ${what} ${JSON.stringify(v)} has characters a path or unit name does not`);
    return values;
}

/** The probe script. */
export function renderProbe(s: ProbeSpec): string {
    const files = checked("file", s.files);
    const units = checked("unit", s.units);
    checked("app name", [s.appName]);
    const app = s.appName;
    const section = (name: string, body: string[]) => [`echo "@@begin ${name}"`, ...body, 'echo "@@end"'];
    return [
        "#!/bin/bash",
        "# npm run verify: a read-only probe. It reads files and states; it writes, restarts and installs nothing.",
        "set -uo pipefail",
        "export LC_ALL=C",
        'echo "@@now $(date +%s)"',
        "probe_file() {",
        '    if [ -f "$1" ]; then',
        '        echo "@@file $1 1 $(stat -c \'%a %U:%G\' "$1")"',
        '        base64 -w0 "$1"; echo',
        "    else",
        '        echo "@@file $1 0"',
        "    fi",
        "}",
        // is-enabled and is-active print the state and exit non-zero for most of them (disabled, inactive, failed);
        // a timer has no restart count.
        "probe_unit() {",
        "    local enabled active restarts",
        '    enabled=$(systemctl is-enabled "$1" 2>/dev/null)',
        '    active=$(systemctl is-active "$1" 2>/dev/null)',
        '    restarts=$(systemctl show -P NRestarts "$1" 2>/dev/null)',
        '    echo "@@unit $1 ${enabled:-absent} ${active:-unknown} ${restarts:-0}"',
        "}",
        ...files.map((f) => `probe_file ${shq(f)}`),
        ...units.map((u) => `probe_unit ${shq(u)}`),
        ...(units.some((u) => u.endsWith(".timer")) ? section("timers", [`systemctl show -p Id -p NextElapseUSecRealtime -p NextElapseUSecMonotonic -p LastTriggerUSec ${units.filter((u) => u.endsWith(".timer")).map(shq).join(" ")} 2>&1`]) : []),
        ...section("sshd", ["sshd -T 2>&1"]),
        ...section("ufw", ["ufw status verbose 2>&1"]),
        ...section("listen", ["ss -Htln 2>&1"]),
        ...section("fail2ban", ["fail2ban-client status 2>&1"]),
        ...(s.backupRoot
            ? section("backups", [`find ${shq(s.backupRoot)} -type f -name '*.sha256' -printf '%T@ %p\\n' 2>/dev/null | sort -n | tail -1`])
            : []),
        ...(s.backupRoot ? section("drill", [`systemctl show -p Result -p ExecMainStatus -p ExecMainExitTimestamp ${shq(`${app}-restore-drill.service`)} 2>&1`]) : []),
        ...(s.certificate ? section("cert", [`openssl x509 -noout -enddate -subject -issuer -in ${shq(s.certificate)} 2>&1`]) : []),
        ...section("upgrades", [
            "apt-config dump APT::Periodic 2>/dev/null | grep -E '^APT::Periodic::(Unattended-Upgrade|Update-Package-Lists) '",
            "systemctl is-active apt-daily-upgrade.timer 2>/dev/null || true",
        ]),
        ...section("sandbox", [`systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp -p PrivateDevices ${shq(`${app}.service`)} 2>&1`]),
        ...section("exposure", [`systemd-analyze security --no-pager ${shq(`${app}.service`)} 2>/dev/null | tail -1`]),
        "",
    ].join("\n");
}

/** The probe's output, read back. */
export function parseProbe(out: string): ProbeResult {
    const lines = out.split("\n");
    const result: ProbeResult = { now: 0, files: new Map(), units: new Map(), sections: new Map() };
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        let m: RegExpExecArray | null;
        if ((m = /^@@now (\d+)$/.exec(line))) result.now = Number(m[1]);
        else if ((m = /^@@file (\S+) 1 ([0-7]+) (\S+)$/.exec(line))) {
            result.files.set(m[1], { exists: true, mode: m[2], owner: m[3], content: Buffer.from(lines[++i] ?? "", "base64").toString("utf8") });
        } else if ((m = /^@@file (\S+) 0$/.exec(line))) result.files.set(m[1], { exists: false });
        else if ((m = /^@@unit (\S+) (\S+) (\S+) (\d+)$/.exec(line))) result.units.set(m[1], { enabled: m[2], active: m[3], restarts: Number(m[4]) });
        else if ((m = /^@@begin (\S+)$/.exec(line))) {
            const body: string[] = [];
            while (i + 1 < lines.length && lines[i + 1] !== "@@end") body.push(lines[++i]);
            i++;
            result.sections.set(m[1], body.join("\n"));
        }
    }
    if (!result.now) throw new Error("the probe's output has no @@now line: it did not run");
    return result;
}
