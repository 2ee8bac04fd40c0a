/**
 * What a host gets, as files a reviewer reads (`npm run plan -- --files DIR`), and what a pull request changes
 * (`npm run plan-diff`): the files per server with their modes, never a secret, and a real change, a CSP edit,
 * shown as a one-line diff of the nginx site file.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostFileEntries, writeHostFiles } from "../plan/files";
import type { PlanRun } from "../plan/run";
import { planCli, run, runStack } from "./helpers";
import { clone, editFile, res } from "./support/policy";

const ROOT = path.join(__dirname, "..");
const plan = planCli;
const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));

let prod: PlanRun;
beforeAll(async () => {
    prod = await runStack("prod");
});

const secrets = (r: PlanRun) => ["app-db-password", "app-app-secret-key", "app-encryption-key-a", "app-encryption-key-b"].map((n) => (res(r, n).outputs.result as { value: string }).value);

describe("--files", () => {
    test("every file each server gets, at its path, with a MANIFEST of modes, owners and steps; secrets only as placeholders", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "files-"));
        const entries = writeHostFiles(prod, dir);
        expect(fs.readdirSync(dir)).toEqual(["webapp-prod-0"]);
        expect(fs.readFileSync(path.join(dir, "webapp-prod-0", "etc/ssh/sshd_config.d/10-hardening.conf"), "utf8")).toContain("PermitRootLogin no");
        const manifest = fs.readFileSync(path.join(dir, "webapp-prod-0", "MANIFEST"), "utf8").trim().split("\n");
        expect(manifest).toContain("/etc/webapp/credentials/app-secret-key 0600 root:root service-0-credentials");
        expect(manifest).toHaveLength(entries.length);
        expect(fs.readFileSync(path.join(dir, "webapp-prod-0", "etc/webapp/credentials/app-secret-key"), "utf8")).toBe("@@secret:app-secret-key@@");
        const all = walk(dir).map((f) => fs.readFileSync(f, "utf8")).join("\n");
        for (const s of secrets(prod)) expect(all).not.toContain(s);
    });

    test("a generated secret that a change put into a file is shown as [secret:<name>], never its value", () => {
        const leaky = clone(prod);
        const value = secrets(leaky)[0];
        editFile(leaky, "service-0-service", "/etc/systemd/system/webapp.service", (c) => c.replace("Restart=on-failure", `Environment="DATABASE_URL=postgresql://webapp:${value}@localhost/webapp"\nRestart=on-failure`));
        const unit = hostFileEntries(leaky).find((e) => e.path === "/etc/systemd/system/webapp.service")!;
        expect(unit.content).toContain("postgresql://webapp:[secret:app-db-password]@localhost/webapp");
        expect(unit.content).not.toContain(value);
    });
});

test("a CSP edit, planned on the base and on the head, shows as the one changed step and a one-line diff of the site file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pr-diff-"));
    expect(plan("--stack", "prod", "--format", "json", "--output", path.join(dir, "base.json"), "--files", path.join(dir, "base")).status).toBe(0);
    const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https://img.shop.de; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
    expect(plan("--stack", "prod", "--config", `webapp:contentSecurityPolicy=${csp}`, "--format", "json", "--output", path.join(dir, "head.json"), "--files", path.join(dir, "head")).status).toBe(0);
    const res = run(process.execPath, [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--swc", "scripts/plan-diff.ts", ...["base.json", "base", "head.json", "head"].map((f) => path.join(dir, f))], { cwd: ROOT });
    expect(res.status).toBe(0);
    const md = res.stdout;
    expect(md).toMatch(/^#### What this pull request changes in `prod`\n/);
    expect(md).toContain("**Changed:** `proxy-0` (webapp:proxy:ReverseProxy), `proxy-0-nginx` (command:remote:Command)");
    expect(md).not.toMatch(/\*\*(Added|Removed):/);
    expect(md).toContain("Host files changed: `webapp-prod-0/etc/nginx/sites-enabled/webapp`\n");
    const diff = md.slice(md.indexOf("```diff"));
    const changes = diff.split("\n").filter((l) => /^[-+](?![-+])/.test(l));
    expect(changes).toEqual([
        expect.stringMatching(/^- {4}add_header Content-Security-Policy "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; /),
        `+    add_header Content-Security-Policy "${csp}" always;`,
    ]);
});

test("a base without a plan is said, not guessed", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pr-diff-"));
    fs.writeFileSync(path.join(dir, "head.json"), JSON.stringify({ stack: "prod", resources: [] }));
    const res = run(process.execPath, [path.join(ROOT, "node_modules", ".bin", "ts-node"), "--swc", "scripts/plan-diff.ts", path.join(dir, "missing.json"), path.join(dir, "base"), path.join(dir, "head.json"), path.join(dir, "head")], { cwd: ROOT });
    expect(res.status).toBe(0);
    expect(res.stdout).toContain("The base branch has no plan to compare with");
});
