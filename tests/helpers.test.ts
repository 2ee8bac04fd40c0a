/**
 * The test helpers' program runs (tests/helpers.ts): every run of a file loads the program afresh and shares the
 * file's SDK, which must cover every SDK entry the program and plan/run require, and no run's config or resources
 * may reach the next.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ofType, runIsolated, runStack, SHARED_SDK_MODULES } from "./helpers";

const ROOT = path.join(__dirname, "..");

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

test("the shared SDK entries are every @pulumi module the program and plan require (the pack's is not loaded by a run)", () => {
    const files = [path.join(ROOT, "index.ts"), ...["components", "lib", "plan"].flatMap((d) => sources(path.join(ROOT, d)))];
    const required = new Set(files.flatMap((f) => [...fs.readFileSync(f, "utf8").matchAll(/(?:from |require\()"(@pulumi\/[^"]+)"/g)].map((m) => m[1])));
    required.delete("@pulumi/policy");
    expect([...required].sort()).toEqual([...SHARED_SDK_MODULES].sort());
});

test("a run's program gets the file's SDK instance and its own fresh program modules", async () => {
    let sdk: unknown;
    let config: unknown;
    const program = () => {
        sdk = require("@pulumi/pulumi");
        config = require("../lib/config");
        return {};
    };
    await runIsolated({ stack: "staging", program });
    const first = config;
    expect(sdk).toBe(pulumi);
    await runIsolated({ stack: "staging", program });
    expect(sdk).toBe(pulumi);
    expect(config).not.toBe(first);
});

test("runs one after another keep nothing of each other: config, resources", async () => {
    const aws = await runStack("prod", { "webapp:provider": "aws" });
    const hcloud = await runStack("prod");
    const again = await runStack("prod", { "webapp:provider": "aws" });
    expect([ofType(aws, "aws:ec2/instance:Instance").length, ofType(aws, "hcloud:index/server:Server").length]).toEqual([1, 0]);
    expect([ofType(hcloud, "aws:ec2/instance:Instance").length, ofType(hcloud, "hcloud:index/server:Server").length]).toEqual([0, 1]);
    expect(again.resources.map((r) => r.urn)).toEqual(aws.resources.map((r) => r.urn));
});
