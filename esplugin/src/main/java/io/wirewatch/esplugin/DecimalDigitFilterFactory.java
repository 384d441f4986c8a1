package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.core.DecimalDigitFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Folds every Unicode decimal digit (Arabic-Indic ٢٠١٨ too) to ASCII 0-9. */
@NamedComponent("ww_decimal_digit")
public class DecimalDigitFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new DecimalDigitFilter(tokenStream);
    }

    // Per character: prefix and wildcard query terms get it too.
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return new DecimalDigitFilter(tokenStream);
    }
}
