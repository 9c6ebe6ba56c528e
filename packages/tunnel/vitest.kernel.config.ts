import { kernelConfig } from '../../vitest.shared.js';
export default kernelConfig;
