<?php
// The OTel PHP SDK's exception.stacktrace: StackTraceFormatter::format renders a Throwable in Java's
// printStackTrace shape. This is an independent rendering of that documented shape: frames newest first as
// "\tat Class.function(file.php:line)" with namespace separators turned into dots, a file's base name only,
// "Unknown Source" for frames without a file, each getPrevious() as "Caused by: " and "... N more" for the
// frames it shares with the exception printed before it.
require __DIR__ . '/Billing.php';

function java_like_frames(Throwable $e): array
{
    $trace = $e->getTrace();
    $frames = [];
    for ($i = 0; $i <= count($trace); $i++) {
        $frames[] = [
            'function' => $trace[$i]['function'] ?? '{main}',
            'class' => $trace[$i]['class'] ?? null,
            'file' => $i === 0 ? $e->getFile() : ($trace[$i - 1]['file'] ?? null),
            'line' => $i === 0 ? $e->getLine() : ($trace[$i - 1]['line'] ?? null),
        ];
    }
    return $frames;
}

function java_like(Throwable $e): string
{
    $out = '';
    $enclosing = null;
    for (; $e !== null; $e = $e->getPrevious()) {
        $name = str_replace('\\', '.', get_class($e));
        $out .= ($enclosing === null ? '' : "\nCaused by: ") . $name . ($e->getMessage() === '' ? '' : ': ' . $e->getMessage());
        $frames = java_like_frames($e);
        $n = count($frames);
        if ($enclosing !== null) {
            for ($m = count($enclosing); $n > 0 && $m > 0 && $frames[$n - 1] === $enclosing[$m - 1]; $n--, $m--);
        }
        for ($i = 0; $i < $n; $i++) {
            $f = $frames[$i];
            $where = $f['file'] === null ? 'Unknown Source' : basename($f['file']) . ($f['line'] ? ':' . $f['line'] : '');
            $out .= "\n\tat " . ($f['class'] === null ? '' : str_replace('\\', '.', $f['class']) . '.')
                . str_replace('\\', '.', $f['function']) . '(' . $where . ')';
        }
        if ($n !== count($frames)) {
            $out .= sprintf("\n\t... %d more", count($frames) - $n);
        }
        $enclosing = $frames;
    }
    return $out;
}

try {
    (new App\Billing\CheckoutService())->checkout(['12', 'x1']); // FRAME:php_otel_main
} catch (Throwable $e) {
    echo java_like($e), "\n";
}
