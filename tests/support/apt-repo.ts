/**
 * A package with a security update, for the tests of `npm run verify`'s upgrade checks: two versions of one
 * empty package built with dpkg-deb, and a flat APT repository that offers the newer one under Debian's security
 * archive's origin, label and codename (so apt and unattended-upgrades treat it as a security update).
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const PROBE_PACKAGE = "webapp-verify-probe";

export type SecurityRepo = {
    /** The old version's .deb, to install first. */
    oldDeb: string;
    /** The repository's directory: Release, Packages and the new version's .deb. */
    repo: string;
    /** Its sources.list line for a repository at `at` (its path where apt reads it). */
    sourcesLine: (at: string) => string;
};

function deb(dir: string, version: string): string {
    const root = path.join(dir, `pkg-${version}`);
    fs.mkdirSync(path.join(root, "DEBIAN"), { recursive: true });
    fs.writeFileSync(path.join(root, "DEBIAN", "control"), `Package: ${PROBE_PACKAGE}\nVersion: ${version}\nArchitecture: all\nMaintainer: webapp tests <tests@example.com>\nDescription: an empty package with a security update\n`);
    const out = path.join(dir, `${PROBE_PACKAGE}_${version}_all.deb`);
    const r = spawnSync("dpkg-deb", ["--build", "--root-owner-group", root, out], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`dpkg-deb failed: ${r.stderr}`);
    return out;
}

export function securityRepo(dir: string, o: { installed: string; update: string }): SecurityRepo {
    const oldDeb = deb(dir, o.installed);
    const repo = path.join(dir, "repo");
    fs.mkdirSync(repo, { recursive: true });
    const newDeb = path.join(repo, path.basename(deb(dir, o.update)));
    fs.renameSync(path.join(dir, path.basename(newDeb)), newDeb);
    const bytes = fs.readFileSync(newDeb);
    const fields = spawnSync("dpkg-deb", ["-f", newDeb], { encoding: "utf8" }).stdout;
    const sha256 = (b: Buffer | string) => crypto.createHash("sha256").update(b).digest("hex");
    const packages = `${fields.trimEnd()}\nFilename: ./${path.basename(newDeb)}\nSize: ${bytes.length}\nSHA256: ${sha256(bytes)}\n\n`;
    fs.writeFileSync(path.join(repo, "Packages"), packages);
    fs.writeFileSync(
        path.join(repo, "Release"),
        `Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\nCodename: bookworm-security\nVersion: 12\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha256(packages)} ${Buffer.byteLength(packages)} Packages\n`,
    );
    return { oldDeb, repo, sourcesLine: (at) => `deb [trusted=yes] file:${at} ./` };
}
