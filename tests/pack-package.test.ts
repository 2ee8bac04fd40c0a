/**
 * The policy pack as a package of its own (policies/package.json, its lockfile, the compiled dist/): it declares
 * every module it loads, at the versions the program is tested with, and what `npm pack` (and so
 * `pulumi policy publish`) ships holds the compiled policies and the lib/ modules they import. A copy installed
 * on its own outside the repository judges a real preview in tests/engine.test.ts.
 */
import { builtinModules } from "module";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { run } from "./helpers";

const ROOT = path.join(__dirname, "..");
const PACK = path.join(ROOT, "policies");
const pkg = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8"));
const rootPkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", PACK], { stdio: "pipe" });
});

const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));

test("every package the compiled pack loads is declared, at the version the program is tested with", () => {
    const loaded = new Set<string>();
    for (const file of walk(path.join(PACK, "dist")).filter((f) => f.endsWith(".js"))) {
        for (const m of fs.readFileSync(file, "utf8").matchAll(/require\("([^"]+)"\)/g)) {
            if (m[1].startsWith(".")) {
                // A relative import stays inside dist/ (nothing reaches back into the repository).
                expect({ file, target: path.relative(path.join(PACK, "dist"), path.resolve(path.dirname(file), m[1])).startsWith("..") }).toEqual({ file, target: false });
                continue;
            }
            const name = m[1].startsWith("@") ? m[1].split("/").slice(0, 2).join("/") : m[1].split("/")[0];
            if (!builtinModules.includes(name.replace(/^node:/, ""))) loaded.add(name);
        }
    }
    expect([...loaded].sort()).toEqual(Object.keys(pkg.dependencies).sort());
    for (const [name, version] of Object.entries(pkg.dependencies)) expect({ name, version }).toEqual({ name, version: rootPkg.dependencies[name] ?? rootPkg.devDependencies[name] });
});

test("the lockfile is the one for this package.json", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(PACK, "package-lock.json"), "utf8"));
    expect(lock.name).toBe(pkg.name);
    expect(lock.packages[""].dependencies).toEqual(pkg.dependencies);
    for (const name of Object.keys(pkg.dependencies)) expect(lock.packages[`node_modules/${name}`].version).toBe(pkg.dependencies[name]);
});

test("npm pack ships the compiled pack with its lib/ modules and PulumiPolicy.yaml, and no sources", () => {
    const res = run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PACK });
    expect(res.status).toBe(0);
    const files = (JSON.parse(res.stdout)[0].files as { path: string }[]).map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["PulumiPolicy.yaml", "package.json", pkg.main, "dist/lib/net.js", "dist/lib/config-schema.js", "dist/lib/render/nginx.js"]));
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
});
