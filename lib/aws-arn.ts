/**
 * AWS ARNs the program can name before the resources exist, so that the policy documents built from them are
 * known at the first preview (and judged by the policy pack then). Pure.
 */

/** The partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
    return region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
}

/**
 * The ARN pattern of a Secrets Manager secret by name: AWS appends `-` and six random characters to the name, and
 * documents `<name>-??????` as the way to name one secret in a policy before it exists.
 */
export function secretArnPattern(region: string, accountId: string, name: string): string {
    if (!/^\d{12}$/.test(accountId)) throw new Error(`not an AWS account id: ${JSON.stringify(accountId)}`);
    return `arn:${partitionOf(region)}:secretsmanager:${region}:${accountId}:secret:${name}-??????`;
}
