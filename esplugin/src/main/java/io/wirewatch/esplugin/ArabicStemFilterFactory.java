package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's light Arabic stemmer: strips the article and attached prefixes (ال، وال، بال، كال، فال، لل، و) and common suffixes. */
@NamedComponent("ww_arabic_stem")
public class ArabicStemFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new ArabicStemFilter(tokenStream);
    }
}
