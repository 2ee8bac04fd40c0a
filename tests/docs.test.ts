/**
 * The generated references match the code; regenerate with `npm run docs`.
 */
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import { contractFacts, renderAppContract, SETUPS } from "../scripts/app-contract";
import { checklistReference, configReference, policyReference, withGraph } from "../scripts/docs";
import { CHECKLIST_IDS } from "../policies/checklist";
import { mermaid } from "../plan/graph";
import { renderAppFilter } from "../lib/render/fail2ban";
import { run, runIsolated } from "./helpers";

const docs = path.join(__dirname, "..", "docs");

test("docs/config.md is up to date", () => {
    expect(fs.readFileSync(path.join(docs, "config.md"), "utf8")).toBe(configReference());
});

test("docs/policies.md is up to date", () => {
    expect(fs.readFileSync(path.join(docs, "policies.md"), "utf8")).toBe(policyReference());
});

test("docs/checklist.md is up to date", () => {
    expect(fs.readFileSync(path.join(docs, "checklist.md"), "utf8")).toBe(checklistReference());
});

test("docs/app-contract.md is up to date: the unit the program ships in each setup", async () => {
    const setups = [];
    for (const setup of SETUPS) {
        const r = await runIsolated({ stack: setup.stack, overrides: setup.overrides });
        if (r.error) throw r.error;
        setups.push({ setup, facts: contractFacts(r) });
    }
    expect(setups[0].facts.credentials).toEqual(expect.arrayContaining(["app-secret-key", "db-password", "encryption-key", "encryption-key-previous"]));
    expect(setups[2].facts.environment).toMatchObject({ DATABASE_ENGINE: "sqlite", SQLITE_PATH: "/var/lib/webapp/webapp.db", BIND: "127.0.0.1:8000" });
    expect(fs.readFileSync(path.join(docs, "app-contract.md"), "utf8")).toBe(renderAppContract(setups));
});

test("the contract's audit line example is one the installed filter counts (fail2ban-regex)", () => {
    const doc = fs.readFileSync(path.join(docs, "app-contract.md"), "utf8");
    const line = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d SECURITY\[LOGIN_FAILED\]: .*)$/m.exec(doc)![1];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contract-"));
    fs.writeFileSync(path.join(dir, "filter.conf"), renderAppFilter());
    fs.writeFileSync(path.join(dir, "app.log"), `${line}\n`);
    const res = run("fail2ban-regex", ["--print-all-matched", path.join(dir, "app.log"), path.join(dir, "filter.conf")]);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/Lines: 1 lines, 0 ignored, 1 matched, 0 missed/);
});

test("the README's component graphs are drawn from the program (npm run docs)", async () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    let expected = readme;
    for (const stack of ["prod", "staging"]) {
        const r = await runIsolated({ stack });
        if (r.error) throw r.error;
        const diagram = mermaid(r);
        expect(diagram).toMatch(/^```mermaid\ngraph TD\n/);
        expected = withGraph(expected, stack, diagram);
    }
    expect(readme).toBe(expected);
    // Prod's shows the off-site bucket staging has not, and the host each component configures.
    expect(readme.slice(readme.indexOf("<!-- graph:prod -->"), readme.indexOf("<!-- /graph:prod -->"))).toMatch(/\["Bucket offsite-bucket"\][\s\S]*\(\("host webapp-prod-0"\)\)/);
});

test("the references cover every key and every policy", () => {
    expect(configReference()).toContain("`webapp:adminCidrs`");
    expect(policyReference().match(/^\| [A-Z]+-\d+ /gm)?.length).toBe(CHECKLIST_IDS.length);
    expect(policyReference()).toContain("`waivers-valid`");
});

test("the README links both", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    expect(readme).toContain("(docs/config.md)");
    expect(readme).toContain("(docs/policies.md)");
    expect(readme).toContain("(docs/checklist.md)");
    expect(readme).toContain("(docs/app-contract.md)");
});

test("nothing in the repository points outside it (users clone it alone)", () => {
    const root = path.join(__dirname, "..");
    const files = ["README.md", "policies/PulumiPolicy.yaml", ...["docs", "policies", "tests", "scripts", "plan", "lib", "components", ".ci", ".github/workflows"].flatMap((d) => walk(path.join(root, d)))];
    const outside = files.filter((f) => /\.\.\/\.\.\/shared|\bshared\/CHECKLIST\.md|"\.\.", "\.\.", "shared"/.test(fs.readFileSync(path.join(root, f), "utf8")));
    expect(outside).toEqual([]);
});

function walk(dir: string): string[] {
    const root = path.join(__dirname, "..");
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : walk(p);
        return [path.relative(root, p)];
    });
}
