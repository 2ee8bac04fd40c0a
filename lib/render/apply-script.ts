/**
 * The script one remote step runs: write files atomically, validate, activate, keep the last working config.
 *
 * - Each file is written to a temporary name next to its target and moved into place only when its content or
 *   mode/owner differ, so a second run with the same input changes nothing and activates nothing.
 * - After writing, the validation commands run (`nginx -t`, `sshd -t`, ...) when a file changed. If one fails,
 *   every file this run replaced is put back from its backup (and new files are removed), and the script exits
 *   non-zero: the host keeps its previous working configuration.
 * - Activation commands (reloads) run only when something changed.
 * - The script prints one line per file (`changed`/`unchanged`) and a final `result: changed|unchanged`.
 *
 * File contents travel base64-encoded inside the script, which the remote step sends on stdin (never on the
 * command line), so secrets in credential files appear in no process list.
 */

export type ManagedFile = {
    path: string;
    content: string;
    /** Octal mode. Default `0644`. */
    mode?: string;
    /** `user:group`. Default `root:root`. */
    owner?: string;
};

export type ApplyScript = {
    /** Step name, for log lines. */
    name: string;
    /** Commands run first, every time; they must be idempotent (package installs, users, directories). */
    prepare?: string[];
    files: ManagedFile[];
    /** Commands that must all succeed after the files are written; otherwise the files are rolled back. */
    validate?: string[];
    /** Commands run only when a file changed (reloads). */
    activate?: string[];
    /** Commands run at the end of every run (idempotent convergence that is not a file, e.g. `systemctl enable --now`). */
    ensure?: string[];
};

const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]+$/;
const SAFE_OWNER = /^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/;

/**
 * Bash line that enables and starts units that are not enabled and running yet; a no-op (and cheap: no
 * `systemctl enable`, which runs generators and SysV helpers) when they already are.
 */
export function enableNow(units: string[]): string {
    if (units.some((u) => !/^[A-Za-z0-9@._-]+$/.test(u))) throw new Error(`enableNow: not unit names: ${units.join(" ")}`);
    return units.map((u) => `if ! systemctl is-enabled --quiet ${u} || ! systemctl is-active --quiet ${u}; then systemctl enable --now ${u} >/dev/null 2>&1; log "enabled ${u}"; fi`).join("\n");
}

/** Single-quotes a string for bash. */
export function shq(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderApplyScript(spec: ApplyScript): string {
    for (const f of spec.files) {
        if (!SAFE_PATH.test(f.path)) throw new Error(`${spec.name}: unsafe file path ${JSON.stringify(f.path)}`);
        if (f.owner && !SAFE_OWNER.test(f.owner)) throw new Error(`${spec.name}: owner must be user:group, got ${JSON.stringify(f.owner)}`);
        if (f.mode && !/^0?[0-7]{3,4}$/.test(f.mode)) throw new Error(`${spec.name}: mode must be octal, got ${JSON.stringify(f.mode)}`);
    }
    const section = (title: string, cmds: string[] | undefined) => (cmds?.length ? [`# ${title}`, ...cmds, ""] : []);
    const lines = [
        "#!/bin/bash",
        `# Managed by Pulumi: remote step "${spec.name}". Safe to run again: unchanged files are left alone.`,
        "set -euo pipefail",
        "umask 022",
        `step=${shq(spec.name)}`,
        "changed=()",
        "backups=()",
        "created=()",
        "",
        "log() { echo \"[$step] $*\"; }",
        "",
        "# install_file PATH MODE OWNER: content (base64) on stdin",
        "install_file() {",
        "    local path=$1 mode=$2 owner=$3 tmp",
        "    mkdir -p \"$(dirname \"$path\")\"",
        "    tmp=$(mktemp \"$(dirname \"$path\")/.pulumi-new.XXXXXX\")",
        "    base64 -d > \"$tmp\"",
        "    chmod \"$mode\" \"$tmp\"",
        "    chown \"$owner\" \"$tmp\"",
        "    if [ -e \"$path\" ] && cmp -s \"$tmp\" \"$path\" \\",
        "        && [ \"$(stat -c '%a %U:%G' \"$path\")\" = \"$(stat -c '%a %U:%G' \"$tmp\")\" ]; then",
        "        rm -f \"$tmp\"",
        "        log \"unchanged $path\"",
        "        return 0",
        "    fi",
        "    if [ -e \"$path\" ]; then",
        "        cp -p \"$path\" \"$path.pulumi-bak\"",
        "        backups+=(\"$path\")",
        "    else",
        "        created+=(\"$path\")",
        "    fi",
        "    mv -f \"$tmp\" \"$path\"",
        "    changed+=(\"$path\")",
        "    log \"changed $path\"",
        "}",
        "",
        "rollback() {",
        "    local p",
        "    for p in \"${backups[@]+\"${backups[@]}\"}\"; do mv -f \"$p.pulumi-bak\" \"$p\"; log \"restored $p\"; done",
        "    for p in \"${created[@]+\"${created[@]}\"}\"; do rm -f \"$p\"; log \"removed $p\"; done",
        "}",
        "",
        ...section("prepare", spec.prepare),
        "# files",
        ...spec.files.flatMap((f) => [
            `install_file ${shq(f.path)} ${f.mode ?? "0644"} ${f.owner ?? "root:root"} <<'PULUMI_B64'`,
            ...(Buffer.from(f.content, "utf8").toString("base64").match(/.{1,76}/g) ?? [""]),
            "PULUMI_B64",
        ]),
        "",
        "# validate: on failure, put the previous files back",
        "validate() {",
        ...(spec.validate?.length ? spec.validate.map((c) => `    ${c} || return 1`) : ["    true"]),
        "}",
        "# Unchanged files were validated when they were written; a rerun with nothing new skips the checks.",
        "if [ \"${#changed[@]}\" -gt 0 ] && ! validate; then",
        "    log \"validation failed; keeping the previous configuration\"",
        "    rollback",
        "    exit 1",
        "fi",
        "for p in \"${backups[@]+\"${backups[@]}\"}\"; do rm -f \"$p.pulumi-bak\"; done",
        "",
        "if [ \"${#changed[@]}\" -gt 0 ]; then",
        ...(spec.activate?.length ? spec.activate.map((c) => `    ${c}`) : ["    :"]),
        "fi",
        "",
        ...section("ensure", spec.ensure),
        "if [ \"${#changed[@]}\" -gt 0 ]; then log \"result: changed\"; else log \"result: unchanged\"; fi",
        "",
    ];
    return lines.join("\n");
}

/** The files an apply script writes, read back from its text (for policies that judge what reaches a host). */
export function parseApplyScript(script: string): ManagedFile[] {
    const files: ManagedFile[] = [];
    const re = /^install_file '((?:[^']|'\\'')*)' ([0-7]+) (\S+) <<'PULUMI_B64'\n([\s\S]*?)\nPULUMI_B64$/gm;
    for (const m of script.matchAll(re)) {
        files.push({ path: m[1].replace(/'\\''/g, "'"), mode: m[2], owner: m[3], content: Buffer.from(m[4].replace(/\n/g, ""), "base64").toString("utf8") });
    }
    return files;
}
