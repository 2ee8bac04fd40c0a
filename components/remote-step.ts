/**
 * One idempotent host step: an apply script (lib/render/apply-script.ts) sent over SSH on stdin to
 * `sudo bash -s`. Its trigger is the script's hash, so a step whose files and commands are unchanged never runs
 * again; a changed one replaces the step, which runs the new script. Steps that carry secrets have their
 * script (stdin), trigger and output marked secret.
 */
import * as command from "@pulumi/command";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, renderApplyScript } from "../lib/render/apply-script";
import type { SshConnection } from "./vps";

export type RemoteStepArgs = {
    connection: pulumi.Input<SshConnection>;
    /** The script; an Output when it embeds secrets. */
    script: pulumi.Input<ApplyScript>;
    /** The script embeds secret values: keep stdin, trigger and output secret. */
    secret?: boolean;
};

export const scriptHash = (script: string) => crypto.createHash("sha256").update(script).digest("hex");

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const text = pulumi.output(args.script).apply(renderApplyScript);
    const wrap = <T>(v: pulumi.Output<T>) => (args.secret ? pulumi.secret(v) : v);
    return new command.remote.Command(
        name,
        {
            connection: args.connection,
            create: "sudo bash -s",
            stdin: wrap(text),
            triggers: [wrap(text.apply(scriptHash))],
            // Scripts print file paths and change markers, never file contents.
            logging: "stdoutAndStderr",
        },
        { ...opts, additionalSecretOutputs: args.secret ? ["stdout", "stderr"] : [] },
    );
}
