/** ΔE00 lives in domain/ (the API's set checks use it too); the rule engine's kernels import it from here. */
export { deltaE2000 } from '../../domain/ciede2000';
