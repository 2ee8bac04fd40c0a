/**
 * verify's SSH runner against a real sshd on loopback: the host key is checked. A host not in the known_hosts file
 * is trusted on first contact and recorded; a host that later presents another key (a replaced server, or someone
 * between the runner and it) is unreachable and its recorded key stays; a key pinned in advance is held to as well.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DeployedHost } from "../verify/deployment";
import { sshRunner } from "../verify/run";
import { run } from "./helpers";
import { freePort, stopProcess, waitForPort } from "./support/nginx";

let dir: string;
let port: number;
let sshd: { proc: ChildProcess; exited: Promise<void> } | undefined;
let clientKey: string;
const hostKeys: Record<"a" | "b", { file: string; pub: string }> = {} as never;

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-ssh-"));
    for (const k of ["a", "b"] as const) {
        const file = path.join(dir, `host_${k}`);
        run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file]);
        hostKeys[k] = { file, pub: fs.readFileSync(`${file}.pub`, "utf8").split(" ").slice(0, 2).join(" ") };
    }
    const client = path.join(dir, "client");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", client]);
    clientKey = fs.readFileSync(client, "utf8");
    fs.copyFileSync(`${client}.pub`, path.join(dir, "authorized_keys"));
    fs.mkdirSync("/run/sshd", { recursive: true });
    port = await freePort();
});

afterEach(async () => {
    if (sshd) await stopProcess(sshd.proc, sshd.exited, "SIGTERM", 5000);
    sshd = undefined;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** sshd on 127.0.0.1:port presenting one of the two host keys; root logs in with the client key. */
async function startSshd(key: "a" | "b"): Promise<void> {
    const config = path.join(dir, "sshd_config");
    fs.writeFileSync(
        config,
        [`Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${hostKeys[key].file}`, `PidFile ${dir}/sshd.pid`, `AuthorizedKeysFile ${dir}/authorized_keys`,
            "PermitRootLogin prohibit-password", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", ""].join("\n"),
    );
    const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: "ignore" });
    sshd = { proc, exited: new Promise((r) => proc.once("exit", () => r())) };
    await waitForPort(port);
}

const host = (): DeployedHost => ({ id: `root@127.0.0.1:${port}`, host: "127.0.0.1", port, user: "root", privateKey: clientKey, steps: [] });

/** The keys a known_hosts file holds for the host, as ssh finds them (Debian's ssh_config hashes the names). */
const recorded = (knownHosts: string): string[] =>
    run("ssh-keygen", ["-F", `[127.0.0.1]:${port}`, "-f", knownHosts]).stdout.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(" ").slice(1, 3).join(" "));

async function probe(knownHosts: string) {
    const ssh = sshRunner(knownHosts);
    try {
        return await ssh.run(host(), "echo reached\n");
    } finally {
        ssh.close();
    }
}

test("an unknown host is trusted on first contact and recorded; another key later makes it unreachable", async () => {
    const knownHosts = path.join(dir, "known_hosts_tofu");
    await startSshd("a");
    const first = await probe(knownHosts);
    expect(first).toMatchObject({ status: 0, stdout: "reached\n" });
    expect(recorded(knownHosts)).toEqual([hostKeys.a.pub]);
    expect((await probe(knownHosts)).status).toBe(0);

    await stopProcess(sshd!.proc, sshd!.exited, "SIGTERM", 5000);
    await startSshd("b");
    const changed = await probe(knownHosts);
    expect(changed.status).toBe(255);
    expect(changed.stdout).toBe("");
    expect(changed.stderr).toMatch(/host key for \[127\.0\.0\.1\]:\d+ has changed|Host key verification failed/i);
    expect(recorded(knownHosts)).toEqual([hostKeys.a.pub]);
});

test("a host key pinned in the known_hosts file is held to from the first contact", async () => {
    const knownHosts = path.join(dir, "known_hosts_pinned");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeys.b.pub}\n`);
    await startSshd("a");
    const r = await probe(knownHosts);
    expect(r.status).toBe(255);
    expect(r.stdout).toBe("");
    fs.writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKeys.a.pub}\n`);
    expect(await probe(knownHosts)).toMatchObject({ status: 0, stdout: "reached\n" });
});
