// SMS opt-out / opt-in keywords. PLACEHOLDER: the SMS work implements the full list (case- and width-insensitive).

export function classifySmsKeyword(text: string): 'opt_out' | 'opt_in' | null {
  void text;
  return null;
}
