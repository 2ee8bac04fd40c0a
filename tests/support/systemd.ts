/**
 * `systemd-analyze verify` needs the units where systemd would look for them: a root with Debian's unit tree,
 * the units under test, and an executable wherever a unit's ExecStart points.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export function unitRoot(parent: string, units: Record<string, string>, executables: string[]): string {
    const root = fs.mkdtempSync(path.join(parent, "root-"));
    fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
    const cp = spawnSync("cp", ["-a", "/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/")], { encoding: "utf8" });
    if (cp.status !== 0) throw new Error(`copying the unit tree failed: ${cp.stderr}`);
    fs.mkdirSync(path.join(root, "etc/systemd/system"), { recursive: true });
    for (const [name, text] of Object.entries(units)) fs.writeFileSync(path.join(root, "etc/systemd/system", name), text);
    for (const exe of executables) {
        fs.mkdirSync(path.join(root, path.dirname(exe)), { recursive: true });
        fs.writeFileSync(path.join(root, exe), "#!/bin/sh\n", { mode: 0o755 });
    }
    return root;
}

export function verifyUnits(root: string, names: string[]) {
    return spawnSync("systemd-analyze", ["verify", `--root=${root}`, ...names.map((n) => path.join(root, "etc/systemd/system", n))], { encoding: "utf8" });
}
