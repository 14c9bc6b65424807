/** The organization every stdio call belongs to (HTTP mode maps API keys to organizations). */
export const DEFAULT_ORG = 'org_default';
