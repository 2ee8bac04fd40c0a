/**
 * The read-only probe `npm run verify` runs on each host as root, in one SSH session: it prints the managed files
 * (mode, owner, content), the wanted units' states and restart counts, and what the live controls read (sshd's
 * effective settings, ufw, listening sockets, fail2ban, backups, the restore drill, nginx's whole configuration,
 * the certificate, unattended upgrades, the app unit's sandbox). It writes nothing, restarts nothing, installs
 * nothing. Pure: render and parse.
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
    /**
     * How long the probe ran on the host, and when it came to each section (milliseconds since its start); every
     * section's reader starts at once, so a section's time is what was left to wait for.
     */
    elapsedMs: number;
    sectionStartMs: Map<string, number>;
    /** Each section's output by name (units, sshd, ufw, listen, fail2ban, backups, drill, nginx, cert, upgrades, sandbox, exposure). */
    sections: Map<string, string>;
};

const SAFE = /^[A-Za-z0-9@._/:+-]+$/;

function checked(what: string, values: string[]): string[] {
    for (const v of values) if (!SAFE.test(v)) throw new Error(`probe: ${what} ${JSON.stringify(v)} has characters a path or unit name does not`);
    return values;
}

/**
 * `security_pending LISTS ADMINDIR`: one `@@security <package> <installed> <newer>` line for each installed package
 * that a security archive's package list offers in a newer version (held packages too). A list is a security
 * archive's when its Release file says so (label Debian-Security, or a `-security` suite or codename); lists are
 * read with apt-helper, whatever their compression; versions are compared by dpkg. It reads the lists as they
 * are: no apt cache is built (apt's own simulation takes 4 to 9 s on the test VM) and nothing is written.
 */
export const SECURITY_PENDING = [
    "security_pending() {",
    "    local lists=$1 admindir=$2 arch rel prefix list",
    "    arch=$(dpkg --print-architecture)",
    '    for rel in "$lists"/*Release; do',
    "        if [ ! -f \"$rel\" ] || ! grep -qE '^(Label: Debian-Security|(Suite|Codename): [^ ]+-security)$' \"$rel\"; then continue; fi",
    '        prefix=${rel%InRelease}; prefix=${prefix%Release}',
    '        for list in "$prefix"*Packages*; do if [ -f "$list" ]; then /usr/lib/apt/apt-helper cat-file "$list"; fi; done',
    "    done | awk -v arch=\"$arch\" '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2} /^$/{if (p != \"\" && (a == arch || a == \"all\")) print p, v; p = \"\"} END{if (p != \"\" && (a == arch || a == \"all\")) print p, v}' | sort -k1,1 \\",
    "        | join - <(dpkg-query --admindir=\"$admindir\" -W -f='${Package} ${Version} ${db:Status-Status}\\n' | awk '$3 == \"installed\" {print $1, $2}' | sort -k1,1) \\",
    '        | while read -r p newer installed; do',
    '            if [ "$newer" != "$installed" ] && dpkg --compare-versions "$newer" gt "$installed"; then echo "@@security $p $installed $newer"; fi',
    "        done",
    "}",
];

/** The probe script. */
export function renderProbe(s: ProbeSpec): string {
    const files = checked("file", s.files);
    const units = checked("unit", s.units);
    checked("app name", [s.appName]);
    const app = s.appName;
    const sections: [string, string[]][] = [
        // Every unit in one systemctl call: its file state (enabled, disabled, ...), whether it runs, its restarts,
        // and a timer's state (waiting, running: its unit runs now, elapsed) with its next and last run. systemctl
        // reads each unit's properties in one call, so a timer's state and its next elapse agree with each other.
        ...(units.length ? [["units", [`systemctl show -p Id -p LoadState -p UnitFileState -p ActiveState -p SubState -p NRestarts -p NextElapseUSecRealtime -p NextElapseUSecMonotonic -p LastTriggerUSec ${units.map(shq).join(" ")} 2>&1`]] as [string, string[]]] : []),
        ["sshd", ["sshd -T 2>&1"]],
        ["ufw", ["ufw status verbose 2>&1"]],
        ["listen", ["ss -Htln 2>&1"]],
        ["fail2ban", ["fail2ban-client status 2>&1"]],
        ...(s.backupRoot
            ? ([
                  ["backups", [`find ${shq(s.backupRoot)} -type f -name '*.sha256' -printf '%T@ %p\\n' 2>/dev/null | sort -n | tail -1`]],
                  ["drill", [`systemctl show -p Result -p ExecMainStatus -p ExecMainExitTimestamp ${shq(`${app}-restore-drill.service`)} 2>&1`]],
              ] as [string, string[]][])
            : []),
        // nginx's whole configuration as it loads it, every included file (the pack judges it).
        ...(s.certificate
            ? ([
                  ["nginx", ["nginx -T 2>&1"]],
                  ["cert", [`openssl x509 -noout -enddate -subject -issuer -in ${shq(s.certificate)} 2>&1`]],
              ] as [string, string[]][])
            : []),
        ["upgrades", ["apt-config dump APT::Periodic 2>/dev/null | grep -E '^APT::Periodic::(Unattended-Upgrade|Update-Package-Lists) '", "systemctl is-active apt-daily-upgrade.timer 2>/dev/null || true"]],
        // When unattended-upgrade last ran (its log), when the deploy set it up, when the package lists last
        // changed (their ctime: apt may date a list by its server), and which packages are held.
        [
            "uu",
            [
                "stat -c '@@mtime %Y %n' /var/log/unattended-upgrades/unattended-upgrades.log /etc/apt/apt.conf.d/20auto-upgrades 2>/dev/null",
                "find /var/lib/apt/lists -maxdepth 1 -type f -name '*_Packages*' -printf '@@lists %C@\\n' 2>/dev/null | sort -n | tail -1",
                "dpkg-query -W -f='${db:Status-Want} ${Package}\\n' 2>/dev/null | sed -n 's/^hold /@@held /p'",
            ],
        ],
        ["pending", ["security_pending /var/lib/apt/lists /var/lib/dpkg 2>/dev/null"]],
        ["sandbox", [`systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp -p PrivateDevices ${shq(`${app}.service`)} 2>&1`]],
        ["exposure", [`systemd-analyze security --no-pager ${shq(`${app}.service`)} 2>/dev/null | tail -1`]],
    ];
    return [
        "#!/bin/bash",
        "# npm run verify: a read-only probe. It reads files and states; it writes, restarts and installs nothing.",
        "set -uo pipefail",
        "export LC_ALL=C",
        "began=$(date +%s%N)",
        'echo "@@now $(date +%s)"',
        ...SECURITY_PENDING,
        // Every section's readers start at once, each into a pipe of its own (file descriptors from 3), and run
        // beside each other and the files below; the sections are then printed in order, each with the
        // milliseconds since the probe began when the probe came to it (what was left to wait for, not its cost).
        ...sections.map(([, body], i) => `exec ${3 + i}< <(${body.join("; ")})`),
        // Every file in three processes, not two per file: stat for all, then their bytes in one base64 stream
        // that the runner cuts by the sizes stat printed.
        "probe_files() {",
        "    local p present=()",
        '    for p in "$@"; do if [ -f "$p" ]; then present+=("$p"); else echo "@@missing $p"; fi; done',
        '    [ "${#present[@]}" -gt 0 ] || return 0',
        "    stat -c '@@stat %s %a %U:%G %n' -- \"${present[@]}\"",
        '    echo "@@content"',
        '    cat -- "${present[@]}" | base64 -w0; echo',
        "}",
        ...(files.length ? [`probe_files ${files.map(shq).join(" ")}`] : []),
        ...sections.flatMap(([name], i) => [`echo "@@begin ${name} $(( ($(date +%s%N) - began) / 1000000 ))"`, `cat <&${3 + i}`, 'echo "@@end"']),
        'echo "@@elapsed $(( ($(date +%s%N) - began) / 1000000 ))"',
        "",
    ].join("\n");
}

/** `systemctl show -p …` output: one `Key=value` map per unit (blocks separated by a blank line). */
export function showBlocks(text: string): Map<string, string>[] {
    return text.split(/\n\s*\n/).map((block) => new Map(block.split("\n").map((l) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)] as [string, string])));
}

/** The probe's output, read back. */
export function parseProbe(out: string): ProbeResult {
    const lines = out.split("\n");
    const result: ProbeResult = { now: 0, elapsedMs: NaN, sectionStartMs: new Map(), files: new Map(), units: new Map(), sections: new Map() };
    const stats: { size: number; mode: string; owner: string; path: string }[] = [];
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i];
        let m: RegExpExecArray | null;
        if ((m = /^@@now (\d+)$/.exec(line))) result.now = Number(m[1]);
        else if ((m = /^@@missing (\S+)$/.exec(line))) result.files.set(m[1], { exists: false });
        else if ((m = /^@@stat (\d+) ([0-7]+) (\S+) (\S+)$/.exec(line))) stats.push({ size: Number(m[1]), mode: m[2], owner: m[3], path: m[4] });
        else if (line === "@@content") {
            const bytes = Buffer.from(lines[++i] ?? "", "base64");
            let at = 0;
            for (const s of stats) {
                result.files.set(s.path, { exists: true, mode: s.mode, owner: s.owner, content: bytes.subarray(at, at + s.size).toString("utf8") });
                at += s.size;
            }
            if (at !== bytes.length) throw new Error(`the probe's file contents are ${bytes.length} bytes, its sizes say ${at}: a file changed while it was read`);
        } else if ((m = /^@@elapsed (\d+)$/.exec(line))) result.elapsedMs = Number(m[1]);
        else if ((m = /^@@begin (\S+) (\d+)$/.exec(line))) {
            result.sectionStartMs.set(m[1], Number(m[2]));
            const body: string[] = [];
            while (i + 1 < lines.length && lines[i + 1] !== "@@end") body.push(lines[++i]);
            i++;
            result.sections.set(m[1], body.join("\n"));
        }
    }
    if (!result.now) throw new Error("the probe's output has no @@now line: it did not run");
    for (const p of showBlocks(result.sections.get("units") ?? "")) {
        const id = p.get("Id");
        if (!id) continue;
        const found = p.get("LoadState") !== "not-found";
        result.units.set(id, { enabled: found ? p.get("UnitFileState") || "static" : "absent", active: p.get("ActiveState") || "unknown", restarts: Number(p.get("NRestarts") || 0) });
    }
    return result;
}
