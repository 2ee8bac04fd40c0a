/**
 * AppIdentity: the AWS identity the app runs as, and nothing more (SEC-6). On EC2 an instance role with its
 * instance profile, so no key ever leaves AWS; elsewhere (Hetzner) an IAM user whose access key reaches the host
 * as a root-owned credential. Permissions are attached by the components that own what is read (AppSecrets).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AppIdentityArgs {
    /** `"instance-role"` for EC2 servers, `"access-key"` for servers outside AWS. Required. */
    kind: "instance-role" | "access-key";
    /** Prefix of the IAM names, e.g. `webapp-prod`. Required. */
    namePrefix: string;
    /** Tags on every IAM resource. Default: none. */
    tags?: Record<string, string>;
}

/** Where an IAM policy is attached: a role or a user, by name. */
export type PolicyTarget = { roleName: pulumi.Output<string> } | { userName: pulumi.Output<string> };

export class AppIdentity extends pulumi.ComponentResource {
    /** ARN of the role or user. */
    public readonly principalArn: pulumi.Output<string>;
    /** Attach policies here. */
    public readonly target: PolicyTarget;
    /** Instance profile name (kind instance-role). */
    public readonly instanceProfileName?: pulumi.Output<string>;
    /** Access key id (kind access-key). */
    public readonly accessKeyId?: pulumi.Output<string>;
    /** Secret access key, a Pulumi secret (kind access-key). */
    public readonly secretAccessKey?: pulumi.Output<string>;

    constructor(name: string, args: AppIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:security:AppIdentity", name, args, opts);
        if (args.kind === "instance-role") {
            const role = new aws.iam.Role(
                `${name}-role`,
                {
                    name: `${args.namePrefix}-app`,
                    description: "Identity of the app on its EC2 instances",
                    assumeRolePolicy: JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                    }),
                    tags: args.tags,
                },
                { parent: this },
            );
            const profile = new aws.iam.InstanceProfile(`${name}-instance-profile`, { name: `${args.namePrefix}-app`, role: role.name, tags: args.tags }, { parent: this });
            this.principalArn = role.arn;
            this.target = { roleName: role.name };
            this.instanceProfileName = profile.name;
        } else {
            const user = new aws.iam.User(`${name}-user`, { name: `${args.namePrefix}-app`, path: "/service/", tags: args.tags }, { parent: this });
            const key = new aws.iam.AccessKey(`${name}-access-key`, { user: user.name }, { parent: this, additionalSecretOutputs: ["secret"] });
            this.principalArn = user.arn;
            this.target = { userName: user.name };
            this.accessKeyId = key.id;
            this.secretAccessKey = pulumi.secret(key.secret);
        }
        this.registerOutputs({ principalArn: this.principalArn });
    }
}

/** Attaches a managed policy to a {@link PolicyTarget}. */
export function attachPolicy(name: string, target: PolicyTarget, policyArn: pulumi.Input<string>, parent: pulumi.Resource): pulumi.CustomResource {
    return "roleName" in target
        ? new aws.iam.RolePolicyAttachment(name, { role: target.roleName, policyArn }, { parent })
        : new aws.iam.UserPolicyAttachment(name, { user: target.userName, policyArn }, { parent });
}
