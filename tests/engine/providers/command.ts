/**
 * Stand-in for the `command` provider 1.2.1 (test code only; the real provider's Go module is not served here).
 *
 * `command:remote:Command` and `command:local:Command` with the semantics the engine can see, read off the real
 * provider (provider/pkg/provider/{remote,local,common}):
 * - a change of `triggers` replaces the resource; a change of any other input updates it;
 * - create runs `create`; update runs `update`, or `create` when there is none; delete runs `delete` if set;
 *   nothing runs in a preview (the engine does not call a provider's Create or Update then);
 * - `stdin` is fed to the command; `stdout`/`stderr` are outputs, trailing newline removed;
 * - `logging` (default `stdoutAndStderr`) streams those lines to the engine as info logs of the resource;
 * - secret inputs stay secret in the outputs, `connection` always;
 * - a failed command fails the step with `<error>: running "<command>":` and its output;
 * - remote: SSH with the connection's user, port, private key or the SSH agent, up to `dialErrorLimit` dial
 *   attempts (default 10) of `perDialTimeout` seconds (default 15) each.
 * Differs from the real provider: SSH is the system `ssh` client (host keys are not checked, as the real
 * provider does not check them); no proxy jump, no password login, no `environment` or
 * `addPreviousOutputInEnv` for remote commands (the real one passes them through sshd's AcceptEnv, which the
 * hardened sshd refuses; this stand-in refuses them instead of warning); no `CopyToRemote`/`CopyFile`, no
 * `assetPaths`/`archivePaths`, no invokes.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as provider from "@pulumi/pulumi/provider";
import { EngineLog, engineAddress, keepSecret, reveal, same, secretKeys, typeOf } from "./support";

const REMOTE = "command:remote:Command";
const LOCAL = "command:local:Command";
const log = new EngineLog(engineAddress(process.argv.slice(2)));

type Connection = { host: string; port?: number; user?: string; privateKey?: string; password?: string; agentSocketPath?: string; dialErrorLimit?: number; perDialTimeout?: number; proxy?: unknown };
type Inputs = {
    connection?: Connection;
    create?: string;
    update?: string;
    delete?: string;
    stdin?: string;
    triggers?: unknown[];
    environment?: Record<string, string>;
    logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
    addPreviousOutputInEnv?: boolean;
    interpreter?: string[];
    dir?: string;
};

type Ran = { code: number; stdout: string; stderr: string; both: string };

/** Runs a process with stdin, streaming its lines to the engine as the real provider's logging does. */
function run(cmd: string, args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string; urn: string; logging: Inputs["logging"] }): Promise<Ran> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        let both = "";
        const logging = opts.logging ?? "stdoutAndStderr";
        const pending: Promise<void>[] = [];
        const stream = (which: "stdout" | "stderr") => {
            let partial = "";
            child[which].on("data", (chunk: Buffer) => {
                const text = chunk.toString("utf8");
                if (which === "stdout") stdout += text;
                else stderr += text;
                both += text;
                if (logging === "none" || (logging !== "stdoutAndStderr" && logging !== which)) return;
                const lines = (partial + text).split("\n");
                partial = lines.pop() ?? "";
                for (const line of lines) pending.push(log.info(opts.urn, line));
            });
            child[which].on("end", () => {
                if (partial && logging !== "none" && (logging === "stdoutAndStderr" || logging === which)) pending.push(log.info(opts.urn, partial));
            });
        };
        stream("stdout");
        stream("stderr");
        child.on("error", reject);
        child.on("close", (code) => void Promise.all(pending).then(() => resolve({ code: code ?? 1, stdout, stderr, both })));
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.stdin ?? "");
    });
}

const DIAL_FAILURE = /ssh: connect to host|Connection (refused|reset|timed out|closed by)|No route to host|kex_exchange_identification|Connection timed out during banner exchange|Could not resolve hostname/;

async function runRemote(urn: string, inputs: Inputs, cmd: string): Promise<Ran> {
    const c = inputs.connection;
    if (!c?.host) throw new Error("connection.host is required");
    if (c.proxy) throw new Error("the command stand-in does not implement connection.proxy");
    if (c.password && !c.privateKey) throw new Error("the command stand-in does not implement password logins");
    if (inputs.environment && Object.keys(inputs.environment).length) throw new Error("environment needs sshd's AcceptEnv; the command stand-in refuses it");
    if (inputs.addPreviousOutputInEnv !== false) throw new Error("addPreviousOutputInEnv needs sshd's AcceptEnv; set it to false (the command stand-in refuses it)");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "command-standin-"));
    try {
        const args = ["-p", String(c.port ?? 22), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", `ConnectTimeout=${c.perDialTimeout ?? 15}`];
        if (c.privateKey) {
            const key = path.join(tmp, "key");
            fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
            args.push("-i", key, "-o", "IdentitiesOnly=yes");
        }
        const env = { ...process.env, ...(c.agentSocketPath ? { SSH_AUTH_SOCK: c.agentSocketPath } : {}) };
        args.push(`${c.user ?? "root"}@${c.host}`, "--", cmd);
        const limit = c.dialErrorLimit ?? 10;
        for (let attempt = 1; ; attempt++) {
            const ran = await run("ssh", args, { stdin: inputs.stdin, env, urn, logging: inputs.logging });
            if (ran.code === 255 && DIAL_FAILURE.test(ran.stderr) && (limit < 0 || attempt < limit)) {
                await new Promise((r) => setTimeout(r, Math.min(attempt, 5) * 1000));
                continue;
            }
            return ran;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

function runLocal(urn: string, inputs: Inputs, cmd: string): Promise<Ran> {
    const [shell, ...shellArgs] = inputs.interpreter?.length ? inputs.interpreter : ["/bin/sh", "-c"];
    return run(shell, [...shellArgs, cmd], { stdin: inputs.stdin, env: { ...process.env, ...(inputs.environment ?? {}) }, cwd: inputs.dir, urn, logging: inputs.logging });
}

/** With COMMAND_STANDIN_RUNS set, every command this stand-in starts is recorded there (its URN, one per line). */
const RUNS = process.env.COMMAND_STANDIN_RUNS;

async function execute(urn: string, raw: Record<string, unknown>, cmd: string | undefined): Promise<Record<string, unknown>> {
    const inputs = reveal(raw) as Inputs;
    let stdout = "";
    let stderr = "";
    if (cmd) {
        if (RUNS) fs.appendFileSync(RUNS, `${urn}\n`);
        const ran = typeOf(urn) === REMOTE ? await runRemote(urn, inputs, cmd) : await runLocal(urn, inputs, cmd);
        if (ran.code !== 0) throw new Error(`Process exited with status ${ran.code}: running ${JSON.stringify(cmd)}:\n${ran.both}`);
        stdout = ran.stdout.replace(/\n$/, "");
        stderr = ran.stderr.replace(/\n$/, "");
    }
    const secrets = secretKeys(raw);
    if (typeOf(urn) === REMOTE) secrets.add("connection");
    return keepSecret({ ...raw, stdout, stderr }, secrets);
}

const command: provider.Provider = {
    version: "1.2.1",
    async check(urn, _olds, news) {
        const type = typeOf(urn);
        if (type !== REMOTE && type !== LOCAL) return { failures: [{ property: "", reason: `the command stand-in implements ${REMOTE} and ${LOCAL}, not ${type}` }] };
        if (type === REMOTE && !reveal(news).connection) return { failures: [{ property: "connection", reason: "missing required property 'connection'" }] };
        return { inputs: news };
    },
    async diff(_id, _urn, olds, news) {
        const keys = [...new Set([...Object.keys(news), ...Object.keys(olds)])].filter((k) => k !== "stdout" && k !== "stderr");
        const changed = keys.filter((k) => !same(olds[k], news[k]));
        return { changes: changed.length > 0, replaces: changed.filter((k) => k === "triggers"), deleteBeforeReplace: false };
    },
    async create(urn, inputs) {
        const outs = await execute(urn, inputs, reveal(inputs).create);
        return { id: `${urn.split("::").slice(-1)[0]}-${Math.random().toString(16).slice(2, 10)}`, outs };
    },
    async update(_id, urn, _olds, news) {
        const n = reveal(news) as Inputs;
        return { outs: await execute(urn, news, n.update ?? n.create) };
    },
    async delete(_id, urn, props) {
        const p = reveal(props) as Inputs;
        if (p.delete) await execute(urn, props, p.delete);
    },
    async read(id, _urn, props) {
        return { id, props };
    },
};

void provider.main(command, process.argv.slice(2));
