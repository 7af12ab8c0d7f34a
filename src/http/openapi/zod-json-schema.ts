import { z } from 'zod';

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1) as a plain object. */
export type JsonSchema = { [key: string]: unknown };

/**
 * The JSON Schema of a zod (v3) schema, for the kinds our request schemas use: objects (strict or not), strings
 * (min, max, regex, datetime), numbers (int, min, max), booleans, enums, literals, unions, arrays, optional,
 * nullable, defaults. The OpenAPI document derives request bodies and query parameters from the same zod schemas
 * the server parses with, so the two cannot drift. Anything else throws: a new construct must be added here, not
 * silently described as "anything".
 */
export function zodToJsonSchema(schema: z.ZodTypeAny): JsonSchema {
  const def = schema._def as { typeName: z.ZodFirstPartyTypeKind; description?: string };
  const out = convert(schema);
  if (def.description !== undefined) out['description'] = def.description;
  return out;
}

function convert(schema: z.ZodTypeAny): JsonSchema {
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodTypeAny>;
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [key, value] of Object.entries(shape)) {
      properties[key] = zodToJsonSchema(value);
      if (!value.isOptional()) required.push(key);
    }
    const strict = (schema._def as { unknownKeys: string }).unknownKeys === 'strict';
    return {
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
      ...(strict ? { additionalProperties: false } : {}),
    };
  }
  if (schema instanceof z.ZodString) {
    const s: JsonSchema = { type: 'string' };
    for (const check of schema._def.checks) {
      if (check.kind === 'min') s['minLength'] = check.value;
      else if (check.kind === 'max') s['maxLength'] = check.value;
      else if (check.kind === 'regex') s['pattern'] = check.regex.source;
      else if (check.kind === 'datetime') s['format'] = 'date-time';
      else if (check.kind === 'url') s['format'] = 'uri';
      else if (check.kind === 'trim') continue;
      else throw new Error(`zodToJsonSchema: string check ${check.kind} is not supported`);
    }
    return s;
  }
  if (schema instanceof z.ZodNumber) {
    const s: JsonSchema = { type: 'number' };
    for (const check of schema._def.checks) {
      if (check.kind === 'int') s['type'] = 'integer';
      else if (check.kind === 'min') s[check.inclusive ? 'minimum' : 'exclusiveMinimum'] = check.value;
      else if (check.kind === 'max') s[check.inclusive ? 'maximum' : 'exclusiveMaximum'] = check.value;
      else throw new Error(`zodToJsonSchema: number check ${check.kind} is not supported`);
    }
    return s;
  }
  if (schema instanceof z.ZodBoolean) return { type: 'boolean' };
  if (schema instanceof z.ZodEnum) return { type: 'string', enum: [...(schema.options as string[])] };
  if (schema instanceof z.ZodLiteral) return { const: schema.value as unknown };
  if (schema instanceof z.ZodArray)
    return { type: 'array', items: zodToJsonSchema(schema.element as z.ZodTypeAny) };
  if (schema instanceof z.ZodUnion)
    return { anyOf: (schema.options as z.ZodTypeAny[]).map((o) => zodToJsonSchema(o)) };
  if (schema instanceof z.ZodOptional) return zodToJsonSchema(schema.unwrap() as z.ZodTypeAny);
  if (schema instanceof z.ZodNullable)
    return { anyOf: [zodToJsonSchema(schema.unwrap() as z.ZodTypeAny), { type: 'null' }] };
  if (schema instanceof z.ZodDefault)
    return {
      ...zodToJsonSchema(schema.removeDefault() as z.ZodTypeAny),
      default: (schema._def.defaultValue as () => unknown)(),
    };
  throw new Error(`zodToJsonSchema: ${(schema._def as { typeName: string }).typeName} is not supported`);
}
