/**
 * `npm run plan`, the README's main command, as a user runs it.
 */
import * as path from "path";
import { planCli, run } from "./helpers";

const ROOT = path.join(__dirname, "..");
const plan = planCli;

describe("npm run plan", () => {
    test("prints the prod tree with key settings and outputs, secrets hidden", () => {
        const res = plan("--stack", "prod");
        expect({ status: res.status, stderr: res.stderr.replace(/^npm warn.*\n/gm, "") }).toEqual({ status: 0, stderr: "" });
        expect(res.stdout).toMatch(/^Plan for webapp\/prod: 58 resources \(offline: mock providers, nothing is created\)/);
        expect(res.stdout).toContain("├─ webapp:compute:Vps  web\n");
        expect(res.stdout).toMatch(/│  ├─ hcloud:index\/server:Server  web-server-0  \[protected\] backups=true deleteProtection=true .*serverType=cpx32 .*ignoreChanges=userData,sshKeys/);
        expect(res.stdout).toMatch(/hcloud:index\/firewall:Firewall  web-firewall  .*rules=\[in tcp\/80 from 0\.0\.0\.0\/0,::\/0; in tcp\/443 from 0\.0\.0\.0\/0,::\/0; in tcp\/22 from 198\.51\.100\.14\/32,198\.51\.100\.15\/32\]/);
        expect(res.stdout).toMatch(/SecretVersion  app-db-password-version  .*secretString=\[secret\]/);
        expect(res.stdout).toContain('  sshCommand: "ssh -p 22 deploy@192.0.2.10"');
        expect(res.stdout).toMatch(/command:remote:Command  host-0-ssh  addPreviousOutputInEnv=false connection=\[secret\] create=<\d+ lines, \d+B, sha256:([0-9a-f]{12})> logging=stdoutAndStderr triggers=\[sha256:\1\]$/m);
        expect(res.stdout).toMatch(/command:remote:Command  service-0-credentials  .*stdin=\[secret\] triggers=\[secret\]/);
    });

    test("without --stack plans every stack file", () => {
        const res = plan();
        expect(res.status).toBe(0);
        expect(res.stdout.match(/^Plan for webapp\/\w+:/gm)).toEqual(["Plan for webapp/prod:", "Plan for webapp/staging:"]);
    });

    test("the first-deploy phase alone draws and reports a stack whose servers are not known yet", () => {
        const res = plan("--stack", "staging", "--phase", "first-deploy", "--format", "markdown");
        expect(res.stderr).toBe("");
        expect(res.status).toBe(0);
        expect(res.stdout).toMatch(/^### ✅ Security checklist: `webapp\/staging`[\s\S]*```mermaid\ngraph TD\n/);
    });

    test("an unknown stack fails with how to create it", () => {
        const res = plan("--stack", "qa");
        expect(res.status).toBe(1);
        expect(res.stderr).toMatch(/no stack file Pulumi\.qa\.yaml: create it with `pulumi stack init qa`/);
    });

    test("a wrong argument prints the usage", () => {
        const res = plan("--stak", "prod");
        expect(res.status).toBe(2);
        expect(res.stderr).toContain("usage: npm run plan [-- --stack <name>]");
    });

    test("a renderer's error inside an apply fails the program, naming the step and the cause, without a stack or a partial graph", () => {
        // The plan's own process (not jest, whose handlers would take the rejection), with a component given an
        // environment its renderer refuses, as a careless edit of index.ts would.
        const script = [
            'require("ts-node").register({ transpileOnly: true });',
            'const { runProgram } = require("./plan/run");',
            "runProgram({ stack: \"prod\", program: () => {",
            '    const { AppService } = require("./components/app-service");',
            '    new AppService("service-0", { connection: { host: "192.0.2.1", user: "deploy" }, appName: "webapp", execStart: "/usr/bin/true", port: 8000, credentials: { "app-secret-key": "x" }, environment: { DATABASE_PASSWORD: "x" } });',
            "} }).then((r) => process.stdout.write(JSON.stringify({ error: r.error && r.error.message, resources: r.resources.map((x) => x.name) })));",
        ].join("\n");
        const res = run(process.execPath, ["-e", script], { cwd: ROOT });
        expect(res.status).toBe(0);
        const out = JSON.parse(res.stdout);
        expect(out.error).toBe("the program failed:\n  - service-0-service: systemd unit: DATABASE_PASSWORD looks like a secret; pass it as a credential, not Environment= (visible in systemctl show, SVC-4)");
        expect(res.stderr).not.toMatch(/^\s+at |promises were still active/m);
    });
});
