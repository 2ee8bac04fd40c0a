/**
 * The generated references match the code; regenerate with `npm run docs`.
 */
import * as fs from "fs";
import * as path from "path";
import { checklistReference, configReference, policyReference } from "../scripts/docs";

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

test("the references cover every key and every policy", () => {
    expect(configReference()).toContain("`webapp:adminCidrs`");
    expect(policyReference().match(/^\| [A-Z]+-\d+ /gm)?.length).toBe(61);
    expect(policyReference()).toContain("`waivers-valid`");
});

test("the README links both", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    expect(readme).toContain("(docs/config.md)");
    expect(readme).toContain("(docs/policies.md)");
    expect(readme).toContain("(docs/checklist.md)");
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
