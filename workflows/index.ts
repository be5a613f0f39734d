/** The workflows the orchestration worker registers (the bundle's entry: `workflowsPath: require.resolve('../workflows')`). */
export { jobWorkflow } from './jobWorkflow';
export { variantWorkflow } from './variantWorkflow';
export { exportWorkflow } from './exportWorkflow';
