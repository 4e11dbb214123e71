export { Composer, type ComposerProps } from './Composer'
export { planToGraph, routingText, completionNames } from './planGraph'
export { stageAt, buildStageIndex, problemsByStage } from './stageMapping'
