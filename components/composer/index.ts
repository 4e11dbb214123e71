export { Composer, REPLAN_DEBOUNCE_MS, type ComposerProps } from './Composer'
export { planToGraph, routingText, completionNames } from './planGraph'
export { stageAt, buildStageIndex, problemsByStage } from './stageMapping'
