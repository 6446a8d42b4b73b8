import { defineConfig } from 'drizzle-kit'

// `npm run db:generate -w @latchkey/server` compares src/store/schema.ts with the last snapshot in
// drizzle/meta and writes the next versioned SQL migration into drizzle/.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema.ts',
  out: './drizzle',
})
