/**
 * The generated references match the code; regenerate with `npm run docs`.
 */
import * as fs from "fs";
import * as path from "path";
import { configReference, policyReference } from "../scripts/docs";

const docs = path.join(__dirname, "..", "docs");

test("docs/config.md is up to date", () => {
    expect(fs.readFileSync(path.join(docs, "config.md"), "utf8")).toBe(configReference());
});

test("docs/policies.md is up to date", () => {
    expect(fs.readFileSync(path.join(docs, "policies.md"), "utf8")).toBe(policyReference());
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
});
