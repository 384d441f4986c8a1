package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicNormalizationFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's Arabic normalisation: alef forms to bare alef, ta marbuta to ha, alef maqsura to ya; tashkeel and tatweel removed. */
@NamedComponent("ww_arabic_normalization")
public class ArabicNormalizationFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ArabicNormalizationFilter(tokenStream);
    }

    // Normalisation is per character, so prefix and wildcard query terms get it too.
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return new ArabicNormalizationFilter(tokenStream);
    }
}
