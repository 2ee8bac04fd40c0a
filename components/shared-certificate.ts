/**
 * SharedCertificate: one Let's Encrypt certificate for a fleet of app servers (issue 15). The first app server
 * obtains it (ReverseProxy with a `leader` share); this component prepares the push between the servers:
 * - on the first server, a push key made once (its public half read from the step's output);
 * - on each other server, that key authorized for the receive command only, from the first server's private
 *   address only, and the server's host key read back so the first server pins it.
 * The push key's and the host keys' public halves travel as step outputs; no SSH private key leaves its server.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, lateValue } from "../lib/render/apply-script";
import { authorizeShareCommands, hostKeyOf, receivePath, renderReceiveScript, shareAuthorizedKey, shareAuthorizedKeyPath, shareDir, shareKeyCommands, shareKeyOf } from "../lib/render/certbot";
import { remoteStep } from "./remote-step";
import type { SshConnection } from "./vps";

export interface SharedCertificateArgs {
    /** The app's name: directories, the receive command, the key's comment. Required. */
    appName: string;
    /** The certificate's primary domain; the receive command refuses a certificate without it. Required. */
    domain: string;
    /** The admin user the push logs in as on the other servers. Required. */
    adminUser: string;
    /** The server that obtains the certificate, and its private address (the only one the push key works from). Required. */
    leader: { connection: pulumi.Input<SshConnection>; address: string };
    /** The other app servers, each with what must run before its receive step (its firewall and sshd). Required, non-empty. */
    followers: { connection: pulumi.Input<SshConnection>; after?: pulumi.Resource[] }[];
}

/** The key step on the first server. Pure. */
export const shareKeyScript = (appName: string): ApplyScript => ({ name: "tls-share-key", files: [], ensure: shareKeyCommands(appName) });

/** The receive step on another server; the push key arrives as the late value `share-key`. Pure. */
export function receiveScript(a: { appName: string; domain: string; adminUser: string; leaderAddress: string }): ApplyScript {
    return {
        name: "tls-receive",
        prepare: [`install -d -m 0700 -o root -g root ${shareDir(a.appName)}`],
        files: [
            { path: receivePath(a.appName), content: renderReceiveScript({ appName: a.appName, domain: a.domain }), mode: "0755" },
            { path: shareAuthorizedKeyPath(a.appName), content: shareAuthorizedKey(a.appName, a.leaderAddress, lateValue("share-key")) + "\n", mode: "0600" },
        ],
        validate: [`bash -n ${receivePath(a.appName)}`],
        ensure: authorizeShareCommands({ appName: a.appName, adminUser: a.adminUser }),
    };
}

/** A value read from a step's output; a missing one fails the update naming the step instead of writing "undefined". */
function fromOutput(step: command.remote.Command, what: string, read: (stdout: string) => string | undefined): pulumi.Output<string> {
    return pulumi.all([step.stdout, step.urn]).apply(([stdout, urn]) => {
        const value = read(stdout);
        if (!value) throw new Error(`${urn}: the step's output has no ${what}`);
        return value;
    });
}

export class SharedCertificate extends pulumi.ComponentResource {
    /** Each other server's Ed25519 host key, in the order of `followers`, for the first server's known_hosts. */
    public readonly hostKeys: pulumi.Output<string>[];
    /** The receive steps: the first server's push must wait for them. */
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: SharedCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.followers.length === 0) throw new Error(`SharedCertificate ${name}: no other app server to share with`);
        // The followers' `after` resources order the steps; they are no inputs of the component.
        super("webapp:proxy:SharedCertificate", name, { appName: args.appName, domain: args.domain, adminUser: args.adminUser, leaderAddress: args.leader.address }, opts);
        const key = remoteStep(`${name}-key`, { connection: args.leader.connection, script: shareKeyScript(args.appName) }, { parent: this, dependsOn: opts?.dependsOn });
        const shareKey = fromOutput(key, "share-key line", shareKeyOf);
        const script = receiveScript({ appName: args.appName, domain: args.domain, adminUser: args.adminUser, leaderAddress: args.leader.address });
        this.steps = args.followers.map((f, i) =>
            remoteStep(`${name}-receive-${i + 1}`, { connection: f.connection, script, values: { "share-key": shareKey } }, { parent: this, dependsOn: [key, ...(f.after ?? [])] }),
        );
        this.hostKeys = this.steps.map((step) => fromOutput(step, "host-key line", hostKeyOf));
        this.registerOutputs({});
    }
}
