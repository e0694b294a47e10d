import { z } from 'zod';

// Tensors in the Open Inference Protocol v2 layout: flat data plus shape.
// The example writes its smoke set and holdout in this form, the gate and
// serving read them, so one shape serves training, gating and inference.
export const Datatype = z.enum([
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64',
  'FP16', 'FP32', 'FP64', 'BYTES',
]);
export type Datatype = z.infer<typeof Datatype>;

export const Tensor = z.object({
  name: z.string().min(1),
  datatype: Datatype,
  shape: z.array(z.number().int().nonnegative()),
  data: z.array(z.union([z.number(), z.string(), z.boolean()])),
});
export type Tensor = z.infer<typeof Tensor>;

/**
 * A tensor of a large file (a holdout of 100k rows): its values are checked when
 * they are converted to typed arrays, with the index and value of a bad one.
 * Checking each value here as well cost more than the conversion itself.
 */
export const BulkTensor = Tensor.extend({ data: z.array(z.unknown()) });
export type BulkTensor = z.infer<typeof BulkTensor>;

/** Input or output signature of a model: shape entries of -1 are free (e.g. batch). */
export const TensorSpec = z.object({
  name: z.string(),
  datatype: Datatype,
  shape: z.array(z.number().int()),
});
export type TensorSpec = z.infer<typeof TensorSpec>;
