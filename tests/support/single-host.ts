/**
 * The single-server deployment the end-to-end test and `npm run bench:verify` both start from: a Debian 12 VM
 * (tests/support/vm.ts) booted with the program's own cloud-init user data, converged by a real `pulumi up` of the
 * staging stack with the policy pack (provider existing, the CLI .ci/run builds, stand-in providers), and
 * `npm run verify` run against it as a user runs it.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderUserData } from "../../lib/render/cloud-init";
import { CACHE, Engine, EngineResult } from "../engine/engine";
import { run } from "../helpers";
import { freePort } from "./nginx";
import { bootVm, ensureImage, quietBackupTime, Vm } from "./vm";

export const ROOT = path.resolve(__dirname, "../..");
export const DOMAIN = "e2e.webapp.test";
export const STACK = "staging";

export type SingleHost = {
    /** A temporary directory of the run (removed by `dispose`). */
    dir: string;
    /** The admin's private key file (its `.pub` beside it). */
    key: string;
    /** SSH listens on this port in the guest and on the host's loopback alike, so the stack's config can name it. */
    sshPort: number;
    vm: Vm;
    engine: Engine;
    /** The first `pulumi up`. */
    first: EngineResult;
    dispose: () => Promise<void>;
};

/** The stack's own values for the VM: provider existing on the forwarded SSH port, a self-signed certificate. */
export function singleHostConfig(publicKey: string, sshPort: number): Record<string, string> {
    return {
        "webapp:provider": "existing",
        "webapp:existingHosts": '["127.0.0.1"]',
        "webapp:sshPort": String(sshPort),
        // Under QEMU's user networking every client arrives from the virtual gateway.
        "webapp:adminCidrs": '["10.0.2.2/32"]',
        "webapp:adminSshPublicKeys": JSON.stringify([publicKey]),
        "webapp:domain": DOMAIN,
        "webapp:acmeEmail": "ops@webapp.test",
        "webapp:tlsMode": "self-signed",
        "webapp:appExecStart": "/usr/bin/python3 -m http.server 8000 --bind 127.0.0.1 --directory /opt/webapp/public",
        "webapp:backupTime": quietBackupTime(),
    };
}

/** Boots the VM and converges it with one `pulumi up`; the caller checks `first` and calls `dispose`. */
export async function convergedSingleHost(): Promise<SingleHost> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-"));
    // The Debian image (debootstrap, ~4 minutes) is kept with the other tools, so fresh clones reuse it.
    const image = ensureImage(path.join(CACHE, "e2e"));
    const key = path.join(dir, "admin");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e-admin", "-f", key]);
    const adminKey = fs.readFileSync(`${key}.pub`, "utf8").trim();
    const sshPort = await freePort();
    const userData = renderUserData({ hostname: "webapp-e2e-0", adminUser: "deploy", adminSshPublicKeys: [adminKey], sshPort });
    const vm = await bootVm({ image, workDir: path.join(dir, "vm"), userData, hostname: "webapp-e2e-0", forward: [80, 443, 5432, 8000], same: [sshPort], outside: [sshPort, 80], sshPort, adminUser: "deploy", key });
    let engine: Engine | undefined;
    const dispose = async () => {
        await vm.stop();
        engine?.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        await vm.waitForSsh();
        // The app's own pipeline would deliver its code; here a static site with a health endpoint.
        const site = vm.ssh("sudo mkdir -p /opt/webapp/public && echo ok | sudo tee /opt/webapp/public/health >/dev/null && echo '<h1>webapp</h1>' | sudo tee /opt/webapp/public/index.html >/dev/null");
        if (site.status !== 0) throw new Error(`delivering the site failed: ${site.stderr}`);
        // The pack ships compiled; build it from the sources under test.
        execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "policies")], { stdio: "pipe" });
        engine = new Engine();
        // CI gives the remote steps a key (README, CI for your repository): a secret of the stack.
        const first = await engine.run({ stack: STACK, op: "up", config: singleHostConfig(adminKey, sshPort), secretConfig: { "webapp:sshPrivateKey": fs.readFileSync(key, "utf8") } });
        return { dir, key, sshPort, vm, engine, first, dispose };
    } catch (err) {
        await dispose();
        throw err;
    }
}

export type VerifyReport = {
    findings: { policy: string; checklistId?: string; level: string; message: string; urn?: string }[];
    hosts: { id: string; probeMs: number; sectionMs: Record<string, number>; drifted: number; live: number; unreachable: string | null }[];
};

/**
 * Runs `npm run verify` as a user would, against the stack's state; the site from outside through the forwarded 443.
 * Without the port scan: the VM is reached through QEMU's port forwards, which accept a connection on every
 * forwarded port whatever the guest's firewall does (tests/verify.test.ts scans a host behind a real ufw). The VM's
 * host key is recorded in the run's own known_hosts on the first verify and held to by every later one.
 */
export function runVerify(host: SingleHost): { status: number; report: VerifyReport } {
    const args = [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "--swc", path.join(ROOT, "scripts/verify.ts"), "--stack", STACK, "--format", "json", "--cwd", host.engine.workDir(STACK), "--site", `127.0.0.1:${host.vm.ports[443]}`, "--scan", "none", "--known-hosts", path.join(host.dir, "known_hosts")];
    const r = spawnSync(process.execPath, args, { env: host.engine.env, encoding: "utf8", timeout: 180_000 });
    if (!r.stdout.trim().startsWith("{")) throw new Error(`verify printed no report (exit ${r.status}): ${r.stderr}`);
    return { status: r.status ?? -1, report: JSON.parse(r.stdout) as VerifyReport };
}
