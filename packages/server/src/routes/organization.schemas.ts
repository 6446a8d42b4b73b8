import { z } from 'zod'

export const ZOrganizationSettings = z
  .object({
    uniqueCodesEnabled: z.boolean().describe('Unique codes may be created only when this is on.'),
    syncLeadHours: z
      .number()
      .int()
      .describe('How long before it starts a synced timed or recurring code is put on the lock.'),
  })
  .meta({ id: 'OrganizationSettings' })
export type TOrganizationSettings = z.infer<typeof ZOrganizationSettings>

export const ZUpdateOrganizationSettingsRequest = z.strictObject({
  uniqueCodesEnabled: z.boolean().optional(),
  syncLeadHours: z
    .number()
    .int()
    .min(0)
    .max(168)
    .optional()
    .describe(
      'Hours (0–168). Every lock is planned again at once: scheduled codes now inside the new lead go on, codes no longer inside it come off until their time.',
    ),
})
export type TUpdateOrganizationSettingsRequest = z.infer<typeof ZUpdateOrganizationSettingsRequest>
