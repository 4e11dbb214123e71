/**
 * workflow.*: the library. Thin: zod input, then the domain (server/library/workflows.ts).
 */
import { z } from 'zod'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'
import * as lib from '../../library/workflows.ts'

const id = z.string().min(1).max(100)

export const workflowRouter = createTRPCRouter({
  /** Library list with search and filters. */
  list: protectedProcedure
    .input(
      z
        .object({
          search: z.string().max(200).optional(),
          valid: z.boolean().optional(),
          backend: z.string().max(50).optional(),
          lastRunState: z.string().max(50).optional(),
          includeArchived: z.boolean().optional(),
          archivedOnly: z.boolean().optional(),
          limit: z.number().int().min(1).max(1000).optional(),
        })
        .strict()
        .optional(),
    )
    .query(({ ctx, input }) => lib.listWorkflows(ctx.db, input ?? {})),

  /** A workflow and one version (default: the head) with its YAML and problems. */
  get: protectedProcedure
    .input(z.object({ id, versionId: id.nullish() }).strict())
    .query(({ ctx, input }) => lib.getWorkflow(ctx.db, { id: input.id, versionId: input.versionId ?? null })),

  /** One version by id (any workflow). */
  version: protectedProcedure
    .input(z.object({ versionId: id }).strict())
    .query(({ ctx, input }) => lib.getVersion(ctx.db, input.versionId)),

  /** All versions, newest first. */
  history: protectedProcedure.input(z.object({ id }).strict()).query(({ ctx, input }) => lib.history(ctx.db, input.id)),

  /** Both texts and a line-diff summary. */
  diff: protectedProcedure
    .input(z.object({ fromVersionId: id, toVersionId: id }).strict())
    .query(({ ctx, input }) => lib.diffVersions(ctx.db, input)),

  /**
   * Save: a new workflow (no workflowId) or a new version of one (workflowId + parentVersionId =
   * the version the text was edited from). CONFLICT when someone saved since; nothing written.
   */
  saveVersion: protectedProcedure
    .input(
      z
        .object({
          workflowId: id.nullish(),
          parentVersionId: id.nullish(),
          yaml: z.string(),
          message: z.string().max(2000).optional(),
          name: z.string().max(200).optional(),
          description: z.string().max(5000).optional(),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => lib.saveVersion(ctx.db, ctx.actor, input)),

  rename: protectedProcedure
    .input(z.object({ id, name: z.string().max(200), description: z.string().max(5000).optional() }).strict())
    .mutation(({ ctx, input }) => lib.renameWorkflow(ctx.db, ctx.actor, input)),

  duplicate: protectedProcedure
    .input(z.object({ id, versionId: id.nullish(), name: z.string().max(200).optional() }).strict())
    .mutation(({ ctx, input }) => lib.duplicateWorkflow(ctx.db, ctx.actor, input)),

  archive: protectedProcedure
    .input(z.object({ id, archived: z.boolean() }).strict())
    .mutation(({ ctx, input }) => lib.setArchived(ctx.db, ctx.actor, input)),

  /** Soft delete when runs reference it (they keep their versions), else removed. */
  delete: protectedProcedure
    .input(z.object({ id }).strict())
    .mutation(({ ctx, input }) => lib.deleteWorkflow(ctx.db, ctx.actor, input)),

  /** Import a .yaml file (≤ 1 MiB, UTF-8, no NUL) as a new workflow. */
  import: protectedProcedure
    .input(
      z
        .object({
          fileName: z.string().min(1).max(255),
          contentBase64: z.string().optional(),
          content: z.string().optional(),
          name: z.string().max(200).optional(),
          message: z.string().max(2000).optional(),
        })
        .strict(),
    )
    .mutation(({ ctx, input }) => lib.importWorkflow(ctx.db, ctx.actor, input)),

  /** The YAML of a version (default: head) and a file name for it. */
  export: protectedProcedure
    .input(z.object({ id, versionId: id.nullish() }).strict())
    .query(({ ctx, input }) => lib.exportWorkflow(ctx.db, input)),
})
