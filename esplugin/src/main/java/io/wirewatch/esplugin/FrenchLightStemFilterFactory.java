package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Lucene's light French stemmer (Savoy): plurals and feminine forms, "attaques" and "attaqué" to "attaqu". */
@NamedComponent("ww_french_light_stem")
public class FrenchLightStemFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new FrenchLightStemFilter(tokenStream);
    }
}
